//! `callout-mutant`: the reference responder with deliberate defects (`-fault NAME[,NAME]`),
//! used only to prove that the conformance suite catches each defect, and with quirks
//! (`-quirk NAME[,NAME]`), harmless differences it must accept. Never deploy it.

fn main() {
    std::process::exit(callout_responder::run_main(
        std::env::args().skip(1).collect(),
        true,
    ));
}
