//! Entry point of the signatures worker's own wasm bundle (see scripts/build-workers.sh).

fn main() {
    workers::register::<workers::signatures::SignatureWorker>();
}
