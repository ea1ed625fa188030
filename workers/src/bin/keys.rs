//! Entry point of the keys worker's own wasm bundle (see scripts/build-workers.sh).

fn main() {
    workers::register::<workers::keys::KeyWorker>();
}
