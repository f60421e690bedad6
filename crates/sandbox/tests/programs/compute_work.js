// The compute profile's workload in Node: a worker thread and a child process.
const { Worker } = require("worker_threads");
const { execFileSync } = require("child_process");

const child = execFileSync(process.execPath, ["-e", "console.log(6 * 7)"]).toString().trim();
console.log("child:", child);
const w = new Worker("const { parentPort } = require('worker_threads'); parentPort.postMessage(21 * 2);", { eval: true });
w.on("message", (m) => {
  console.log("worker:", m);
  w.terminate().then(() => console.log("compute: done"));
});
w.on("error", (e) => { console.error("worker error:", e); process.exit(1); });
