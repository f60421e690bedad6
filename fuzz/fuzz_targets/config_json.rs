//! config.json: everything `create` checks before it makes anything (parse, validation,
//! unsupported fields, mounts, process, capabilities, seccomp, sysctl, devices). Errors
//! are expected; a panic is a bug. Inputs are mutated as bytes and as JSON trees.
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};

fuzz_target!(|data: &[u8]| {
    let _ = vsbx_runtime::fuzz_api::check_config(vsbx_fuzz::scratch_bundle(), data);
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    vsbx_fuzz::mutate_json(data, size, max_size, seed)
});
