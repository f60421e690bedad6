//! `vsbx plot`: draws a --monitor file (memory and CPU over time) as an SVG.

use std::path::Path;

use plotters::prelude::*;

use crate::usage::Sample;
use crate::Error;

#[derive(serde::Deserialize)]
struct MonitorFile {
    id: String,
    samples: Vec<SampleIn>,
}

#[derive(serde::Deserialize)]
struct SampleIn {
    t_ms: u64,
    memory_bytes: u64,
    cpu_user_ms: u64,
    cpu_system_ms: u64,
}

/// Writes the monitor file `samples` as JSON.
pub fn write_monitor(
    path: &Path,
    id: &str,
    interval_ms: u64,
    samples: &[Sample],
) -> Result<(), Error> {
    let v = serde_json::json!({"id": id, "interval_ms": interval_ms, "samples": samples});
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap_or_default())
        .map_err(|e| Error::Io(format!("--monitor {}", path.display()), e))
}

/// Reads a monitor file and draws memory (MiB) and CPU use (% of one core) to `out`.
pub fn plot(input: &Path, out: &Path) -> Result<(), Error> {
    let text = std::fs::read(input)
        .map_err(|e| Error::Io(format!("cannot read {}", input.display()), e))?;
    let m: MonitorFile = serde_json::from_slice(&text)
        .map_err(|e| Error::Invalid(format!("{}: not a monitor file: {e}", input.display())))?;
    if m.samples.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no samples to plot",
            input.display()
        )));
    }
    let t_end = m.samples.iter().map(|s| s.t_ms).max().unwrap_or(1).max(1) as f64 / 1000.0;
    let mem: Vec<(f64, f64)> = m
        .samples
        .iter()
        .map(|s| {
            (
                s.t_ms as f64 / 1000.0,
                s.memory_bytes as f64 / (1 << 20) as f64,
            )
        })
        .collect();
    let cpu: Vec<(f64, f64)> = m
        .samples
        .windows(2)
        .map(|w| {
            let dt = (w[1].t_ms.saturating_sub(w[0].t_ms)).max(1) as f64;
            let used = (w[1].cpu_user_ms + w[1].cpu_system_ms)
                .saturating_sub(w[0].cpu_user_ms + w[0].cpu_system_ms)
                as f64;
            (w[1].t_ms as f64 / 1000.0, 100.0 * used / dt)
        })
        .collect();
    let draw_err =
        |e: &dyn std::fmt::Display| Error::Invalid(format!("drawing {}: {e}", out.display()));
    let root = SVGBackend::new(out, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_err(&e))?;
    let (top, bottom) = root.split_vertically(300);
    let mem_max = mem.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let mut c = ChartBuilder::on(&top)
        .caption(format!("{}: memory (MiB)", m.id), ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..t_end, 0.0..mem_max)
        .map_err(|e| draw_err(&e))?;
    c.configure_mesh()
        .x_desc("seconds")
        .draw()
        .map_err(|e| draw_err(&e))?;
    c.draw_series(LineSeries::new(mem, &BLUE))
        .map_err(|e| draw_err(&e))?;
    let cpu_max = cpu.iter().map(|p| p.1).fold(100.0, f64::max) * 1.1;
    let mut c = ChartBuilder::on(&bottom)
        .caption("CPU (% of one core)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..t_end, 0.0..cpu_max)
        .map_err(|e| draw_err(&e))?;
    c.configure_mesh()
        .x_desc("seconds")
        .draw()
        .map_err(|e| draw_err(&e))?;
    c.draw_series(LineSeries::new(cpu, &RED))
        .map_err(|e| draw_err(&e))?;
    root.present().map_err(|e| draw_err(&e))
}
