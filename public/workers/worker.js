// Entry of each cryptography web worker (crate `workers`): loads the bundle named by
// `?bundle=`, whose start registers its worker. Only these bundles load.
const bundles = ['checker', 'signatures', 'keys', 'codes', 'ballot'];
const name = new URL(self.location.href).searchParams.get('bundle');
if (!bundles.includes(name)) throw new Error(`no such worker bundle: ${name}`);
const { default: init } = await import(`./${name}.js`);
await init();
