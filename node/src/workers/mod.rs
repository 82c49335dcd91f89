//! Off-chain workers: tasks beside the shell that follow committed blocks (from the
//! shell's broadcast, or from storage after a cursor when they lag or restart) and
//! submit transactions through the pool, signed by a service identity of their
//! organisation. One folder per worker.

pub mod analytics;
pub mod atna;
pub mod evidence;
pub mod nudging;
pub mod risk;
pub mod sharing;
