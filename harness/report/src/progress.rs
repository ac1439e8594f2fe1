//! The live progress of a run on stderr. On a terminal, one indicatif bar per column (its
//! heading, position/total, FAIL count so far and the current case) with each FAIL line
//! printed above it; anywhere else (a pipe, a CI log, `TERM=dumb`, `CI` set) the plain
//! `== column ==` and `[ n/N] VERDICT  id` lines that logs and tests read.

use std::ffi::OsStr;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress_line;
use callout_leaves::verdict::Verdict;

/// How progress is shown, decided once per run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// One line per case, exactly as in a CI log.
    Plain,
    /// A bar per column; `color` paints its heading and FAIL count.
    Bar { color: bool },
}

impl ProgressMode {
    /// A bar when stderr is a terminal, `TERM` is not `dumb` and `CI` is unset (or `false`,
    /// `0`, empty); plain lines otherwise. `--no-color` keeps the bar but drops its colors.
    pub fn detect(no_color: bool) -> ProgressMode {
        Self::decide(
            std::io::stderr().is_terminal(),
            std::env::var_os("CI").as_deref(),
            std::env::var_os("TERM").as_deref(),
            no_color,
        )
    }

    fn decide(
        terminal: bool,
        ci: Option<&OsStr>,
        term: Option<&OsStr>,
        no_color: bool,
    ) -> ProgressMode {
        let in_ci = ci.is_some_and(|v| !matches!(v.to_str(), Some("" | "0" | "false")));
        let dumb = term == Some(OsStr::new("dumb"));
        if terminal && !in_ci && !dumb {
            ProgressMode::Bar { color: !no_color }
        } else {
            ProgressMode::Plain
        }
    }
}

/// The progress of one column (one responder on one server version and backend).
pub struct ColumnProgress {
    done: usize,
    total: usize,
    fails: usize,
    bar: Option<ProgressBar>,
}

impl ColumnProgress {
    /// Starts a column: prints `== column ==` in plain mode, draws its bar otherwise.
    pub fn start(mode: ProgressMode, column: &str, total: usize) -> ColumnProgress {
        let bar = match mode {
            ProgressMode::Plain => {
                eprintln!("== {column} ==");
                None
            }
            ProgressMode::Bar { color } => {
                let template = if color {
                    "{prefix:.bold} [{bar:24.cyan/blue}] {pos:>3}/{len} {elapsed:>4} {msg}"
                } else {
                    "{prefix} [{bar:24}] {pos:>3}/{len} {elapsed:>4} {msg}"
                };
                let style = ProgressStyle::with_template(template)
                    .expect("the template is valid")
                    .progress_chars("=> ");
                let bar =
                    ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr())
                        .with_style(style)
                        .with_prefix(column.to_string());
                bar.enable_steady_tick(Duration::from_millis(250));
                Some(bar)
            }
        };
        ColumnProgress {
            done: 0,
            total,
            fails: 0,
            bar,
        }
    }

    /// Records one finished case with its verdict as graded (before the baseline).
    pub fn case(&mut self, id: &str, verdict: Verdict) {
        self.done += 1;
        if verdict == Verdict::Fail {
            self.fails += 1;
        }
        let line = progress_line(self.done, self.total, id, verdict);
        match &self.bar {
            None => eprintln!("{line}"),
            Some(bar) => {
                if verdict == Verdict::Fail {
                    bar.println(line);
                }
                bar.set_position(self.done as u64);
                bar.set_message(format!("{}  {id}", self.fail_count()));
            }
        }
    }

    /// Ends the column; its bar stays on screen with the FAIL count.
    pub fn finish(mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_with_message(self.fail_count());
        }
    }

    fn fail_count(&self) -> String {
        format!("{} FAIL", self.fails)
    }
}

impl Drop for ColumnProgress {
    /// A column left early (a panic) still stops its bar's ticker.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<&OsStr> {
        Some(OsStr::new(s))
    }

    #[test]
    fn progress_bar_only_on_a_real_terminal_outside_ci() {
        use ProgressMode::*;
        let decide = ProgressMode::decide;
        assert_eq!(decide(true, None, os("xterm"), false), Bar { color: true });
        assert_eq!(decide(true, None, None, true), Bar { color: false });
        assert_eq!(
            decide(true, os("false"), os("xterm"), false),
            Bar { color: true }
        );
        assert_eq!(
            decide(true, os(""), os("xterm"), false),
            Bar { color: true }
        );
        assert_eq!(decide(false, None, os("xterm"), false), Plain, "a pipe");
        assert_eq!(decide(true, os("true"), os("xterm"), false), Plain, "CI");
        assert_eq!(decide(true, os("1"), os("xterm"), false), Plain, "CI");
        assert_eq!(decide(true, None, os("dumb"), false), Plain, "TERM=dumb");
    }
}
