//! Entry point of the codes worker's own wasm bundle (see scripts/build-workers.sh).

fn main() {
    workers::register::<workers::codes::CodesWorker>();
}
