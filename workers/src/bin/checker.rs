//! Entry point of the checker worker's own wasm bundle (see scripts/build-workers.sh).

fn main() {
    workers::register::<workers::checker::CheckWorker>();
}
