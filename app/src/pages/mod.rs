//! One module per console page.

pub mod admin;
pub mod artifact;
pub mod audit;
pub mod immutability;
pub mod labels;
pub mod login;
pub mod not_found;
pub mod onboard;
pub mod profile;
pub mod project;
pub mod projects;
pub mod replication_admin;
pub mod repository;
pub mod retention;
pub mod robots;
pub mod scanning_admin;
pub mod settings;
pub mod trust;
pub mod vulnerabilities;
