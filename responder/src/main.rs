//! `callout-responder`: the reference auth-callout responder. See `--help`.

fn main() {
    std::process::exit(callout_responder::run_main(
        std::env::args().skip(1).collect(),
        false,
    ));
}
