//! The session loop. (Filled in below.)
