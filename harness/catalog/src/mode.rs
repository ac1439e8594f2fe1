//! Which half of the catalog a run judges: config mode (the scenario files without
//! `[server] mode = "operator"` and the config-mode wire cases) or operator mode (`run --mode
//! operator`: the operator-mode files and wire cases).

use crate::scenario::Scenario;
use crate::wire::WireCase;

/// The mode of a run (`--mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Centralized authorization in the server config.
    #[default]
    Config,
    /// Decentralized authorization: operator, accounts, a memory resolver.
    Operator,
}

impl Mode {
    /// The mode called `name` on the command line.
    pub fn parse(name: &str) -> Option<Mode> {
        match name {
            "config" | "" => Some(Mode::Config),
            "operator" => Some(Mode::Operator),
            _ => None,
        }
    }

    /// True for operator mode.
    pub fn is_operator(self) -> bool {
        self == Mode::Operator
    }

    /// True when `scn` belongs to this mode's half of the catalog.
    pub fn has_file(self, scn: &Scenario) -> bool {
        scn.world.operator == self.is_operator()
    }

    /// True when `case` belongs to this mode's half of the catalog.
    pub fn has_wire(self, case: &WireCase) -> bool {
        case.phase(self.is_operator()).is_some()
    }
}
