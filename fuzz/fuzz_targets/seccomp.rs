//! linux.seccomp: any section that parses is compiled to BPF; the compiler must not
//! panic, and a program it returns must pass the kernel's checks (at most 4096
//! instructions, every jump in range, a return at the end).
#![no_main]

use libfuzzer_sys::{fuzz_mutator, fuzz_target};
use oci_spec::runtime::LinuxSeccomp;

fuzz_target!(|data: &[u8]| {
    let Ok(section) = serde_json::from_slice::<LinuxSeccomp>(data) else {
        return;
    };
    if let Ok(programs) = vsbx_runtime::fuzz_api::compile_seccomp(&section) {
        assert!(!programs.is_empty(), "compiled to no program");
        for p in &programs {
            if let Err(e) = vsbx_fuzz::check_bpf(p) {
                panic!("the kernel would refuse the compiled program: {e}");
            }
        }
    }
});

fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    vsbx_fuzz::mutate_json(data, size, max_size, seed)
});
