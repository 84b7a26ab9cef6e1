//! Services: the operations of Berth, each in its own transaction.

pub mod bootstrap;
