//! Berth's shared model: validated types used by the UI and the server, and (feature `server`)
//! the database entities and connection handling that every service builds on.

pub mod policy;
pub mod scan;
pub mod types;

#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod entities;
#[cfg(feature = "server")]
pub mod password;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod signing;
#[cfg(feature = "server")]
pub mod storage;
