//! Entry point of the ballot worker's own wasm bundle (see scripts/build-workers.sh).

fn main() {
    workers::register::<workers::ballot::BallotWorker>();
}
