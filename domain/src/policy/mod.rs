//! Pure rules over plain types, no I/O. They compile for the browser too, so the console hides
//! exactly what the server would refuse.

pub mod authz;
pub mod cron;
pub mod immutability;
pub mod limits;
pub mod replication;
pub mod retention;
pub mod selector;
