//! SeaORM entities, one module per table, in the shape the migrations create.

pub mod audit_log;
pub mod project;
pub mod project_member;
pub mod repository;
pub mod robot;
pub mod session;
pub mod user;
pub mod user_group;
pub mod user_group_member;
