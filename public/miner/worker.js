// Entry of each mining web worker (a module worker spawned by the miner page).
// It loads the SIMD build when this browser accepts wasm SIMD, the scalar build otherwise;
// `?kernel=scalar` forces the fallback (the benchmark compares both).
const simdProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0,
  253, 15, 253, 98, 11,
]);
const forced = new URL(self.location.href).searchParams.get("kernel");
const simd = forced !== "scalar" && WebAssembly.validate(simdProbe);
const bundle = simd ? "./miner_simd.js" : "./miner_scalar.js";
const { default: init } = await import(bundle);
await init();
