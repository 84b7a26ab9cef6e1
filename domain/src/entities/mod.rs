//! SeaORM entities, one module per table, in the shape the migrations create.

pub mod session;
pub mod user;
