//! `callout-conformance`: see `--help`.

fn main() {
    std::process::exit(callout_conformance::cli::main(
        std::env::args().skip(1).collect(),
    ));
}
