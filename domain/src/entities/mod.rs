//! SeaORM entities, one module per table, in the shape the migrations create.

pub mod adapter_scan;
pub mod artifact;
pub mod artifact_label;
pub mod artifact_ref;
pub mod audit_log;
pub mod blob;
pub mod cve_allowlist;
pub mod immutable_rule;
pub mod label;
pub mod project;
pub mod project_member;
pub mod project_scanner;
pub mod repository;
pub mod repository_blob;
pub mod retention_execution;
pub mod retention_policy;
pub mod robot;
pub mod scan;
pub mod scanner;
pub mod session;
pub mod system_setting;
pub mod tag;
pub mod upload;
pub mod user;
pub mod user_group;
pub mod user_group_member;
