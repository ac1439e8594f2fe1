//! The one place a verdict is decided. (Filled in below.)
