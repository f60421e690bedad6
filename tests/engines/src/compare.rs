//! The differential check: one scenario, run with each runtime, observations compared.

use crate::runtime::{runtimes, Runtime};
use std::fmt::Display;

/// What a scenario saw, as ordered `key = value` pairs (exit codes, normalized output, limits).
#[derive(Default, Debug, Clone, PartialEq)]
pub struct Obs(Vec<(String, String)>);

impl Obs {
    pub fn new() -> Obs {
        Obs::default()
    }

    pub fn put(&mut self, key: &str, value: impl Display) -> &mut Obs {
        self.0.push((key.to_string(), value.to_string()));
        self
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn render(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("    {k} = {v:?}\n"))
            .collect()
    }
}

/// Runs `scenario` with every runtime of [`runtimes`] and fails the test when
/// - a runtime's run returned an error (the error names the engine command and its output),
/// - a runtime's observation differs from `expect` (what runc does on this machine), or
/// - vsbx's observations differ from runc's (same keys, same values).
///
/// Every failure is collected and reported together, so one run shows all of them.
pub fn differential<F>(name: &str, expect: &[(&str, &str)], mut scenario: F)
where
    F: FnMut(&Runtime) -> Result<Obs, String>,
{
    let mut failures = Vec::new();
    let mut seen: Vec<(Runtime, Obs)> = Vec::new();
    for rt in runtimes() {
        let started = std::time::Instant::now();
        let result = scenario(&rt);
        eprintln!(
            "[{name}] {} ({}) took {:.1?}",
            rt.name,
            rt.path.display(),
            started.elapsed()
        );
        match result {
            Err(e) => failures.push(format!("[{}] {name}: {e}", rt.name)),
            Ok(obs) => {
                eprint!("[{name}] {} saw:\n{}", rt.name, obs.render());
                for (key, want) in expect {
                    match obs.get(key) {
                        Some(got) if got == *want => {}
                        got => failures.push(format!(
                            "[{}] {name}: {key} = {got:?}, expected {want:?}",
                            rt.name
                        )),
                    }
                }
                seen.push((rt, obs));
            }
        }
    }
    if let Some((_, reference)) = seen.iter().find(|(rt, _)| rt.is_runc()) {
        for (rt, obs) in seen.iter().filter(|(rt, _)| !rt.is_runc()) {
            if obs != reference {
                failures.push(format!(
                    "[{}] {name}: differs from runc\n  runc saw:\n{}  {} saw:\n{}",
                    rt.name,
                    reference.render(),
                    rt.name,
                    obs.render()
                ));
            }
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} failure(s):\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}
