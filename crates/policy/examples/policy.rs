//! Look at profiles from the command line:
//!   cargo run -p vsbx-policy --example policy -- explain compute
//!   cargo run -p vsbx-policy --example policy -- diff io compute
//!   cargo run -p vsbx-policy --example policy -- json network      (the OCI fragment)
//!   cargo run -p vsbx-policy --example policy -- apply compute config.json   (rewrites the file)
//! A NAME that contains `/` or ends in `.toml` is read as a user profile file.

use std::process::ExitCode;

use vsbx_policy::{diff, explain, PolicyError, Profile};

fn load(name: &str) -> Result<Profile, PolicyError> {
    if name.contains('/') || name.ends_with(".toml") {
        Profile::from_file(name)
    } else {
        Profile::builtin(name)
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let text = |e: PolicyError| e.to_string();
    match args {
        [command, name] if command == "explain" => Ok(explain(&load(name).map_err(text)?)),
        [command, a, b] if command == "diff" => {
            Ok(diff(&load(a).map_err(text)?, &load(b).map_err(text)?))
        }
        [command, name] if command == "json" => {
            let profile = load(name).map_err(text)?;
            let fragment = profile.to_oci(&profile.default_options()).map_err(text)?;
            let json = fragment.to_config_json().map_err(text)?;
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())
        }
        [command, name, config] if command == "apply" => {
            let profile = load(name).map_err(text)?;
            let fragment = profile.to_oci(&profile.default_options()).map_err(text)?;
            let mut spec = oci_spec::runtime::Spec::load(config).map_err(|e| e.to_string())?;
            fragment.apply_to(&mut spec).map_err(text)?;
            spec.save(config).map_err(|e| e.to_string())?;
            Ok(format!(
                "applied {} v{} to {config}",
                profile.name(),
                profile.version()
            ))
        }
        _ => Err("usage: policy explain NAME | diff A B | json NAME | apply NAME CONFIG".into()),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(output) => {
            println!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("policy: {message}");
            ExitCode::FAILURE
        }
    }
}
