//! Building blocks shared by the pages.

pub mod icons;
pub mod layout;
pub mod page;
pub mod permissions;
pub mod query;
pub mod rest;
pub mod session;
pub mod theme;
pub mod toast;
pub mod user_menu;
pub mod widgets;
