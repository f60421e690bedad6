//! Policy profiles as TOML: loading (parse, merge onto the parent, every rule), then
//! what the sandbox does with a loaded profile: explain it, diff it against its
//! parent, render the OCI fragment and compile its seccomp section with the runtime.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsbx_policy::Profile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(profile) = Profile::from_toml_str(text, "fuzz.toml") else {
        return;
    };
    let _ = vsbx_policy::explain(&profile);
    if let Some(parent) = profile.ancestors().last() {
        if let Ok(p) = Profile::builtin(&parent.name) {
            let _ = vsbx_policy::diff(&p, &profile);
        }
    }
    let _ = profile.limits().cpu_quota_us();
    if let Ok(fragment) = profile.to_oci(&profile.default_options()) {
        let _ = vsbx_runtime::fuzz_api::compile_seccomp(&fragment.seccomp);
        let _ = fragment.to_config_json();
    }
});
