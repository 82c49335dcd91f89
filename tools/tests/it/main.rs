//! Integration tests of the Panacea workspace, as one test binary (one link, one run).

mod architecture;
mod cli;
mod gov;
