//! Entry point of the mining worker's own wasm bundle (see scripts/build-miner.sh).

use gloo_worker::Registrable;
use miner::MinerWorker;

fn main() {
    MinerWorker::registrar().register();
}
