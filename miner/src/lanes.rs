//! Lanes: several independent 32-bit words processed by the same instructions.
//!
//! The SHA-256 kernel in [`crate::kernel`] is written once over this trait. On wasm32 with
//! `simd128` a lane group is one `v128` (four nonces per instruction); elsewhere it is a
//! plain array, which the native tests use to check the very same kernel code.

/// A group of `LANES` u32 words with the operations SHA-256 needs.
pub trait Lanes: Copy {
    /// How many words (nonces) one value holds.
    const LANES: usize;
    /// Every lane set to `x`.
    fn splat(x: u32) -> Self;
    /// Lane `i` set to `f(i)`.
    fn from_fn(f: impl FnMut(usize) -> u32) -> Self;
    /// Lane `i`'s word.
    fn lane(self, i: usize) -> u32;
    /// Wrapping addition.
    fn add(self, o: Self) -> Self;
    /// Bitwise exclusive or.
    fn xor(self, o: Self) -> Self;
    /// Right rotation by `N` bits.
    fn rotr<const N: u32>(self) -> Self;
    /// Logical right shift by `N` bits.
    fn shr<const N: u32>(self) -> Self;
    /// Bits of `a` where `mask` is set, bits of `b` elsewhere.
    fn select(mask: Self, a: Self, b: Self) -> Self;
}

impl Lanes for u32 {
    const LANES: usize = 1;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        x
    }
    #[inline(always)]
    fn from_fn(mut f: impl FnMut(usize) -> u32) -> Self {
        f(0)
    }
    #[inline(always)]
    fn lane(self, _: usize) -> u32 {
        self
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self.wrapping_add(o)
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        self ^ o
    }
    #[inline(always)]
    fn rotr<const N: u32>(self) -> Self {
        self.rotate_right(N)
    }
    #[inline(always)]
    fn shr<const N: u32>(self) -> Self {
        self >> N
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        (a & mask) | (b & !mask)
    }
}

/// Two groups side by side. Interleaving two independent dependency chains lets the CPU
/// overlap them (instruction-level parallelism); SHA-256 rounds are otherwise serial.
#[derive(Clone, Copy)]
pub struct Pair<L>(pub L, pub L);

impl<L: Lanes> Lanes for Pair<L> {
    const LANES: usize = 2 * L::LANES;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Pair(L::splat(x), L::splat(x))
    }
    #[inline(always)]
    fn from_fn(mut f: impl FnMut(usize) -> u32) -> Self {
        let a = L::from_fn(&mut f);
        let b = L::from_fn(|i| f(L::LANES + i));
        Pair(a, b)
    }
    #[inline(always)]
    fn lane(self, i: usize) -> u32 {
        if i < L::LANES {
            self.0.lane(i)
        } else {
            self.1.lane(i - L::LANES)
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Pair(self.0.add(o.0), self.1.add(o.1))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        Pair(self.0.xor(o.0), self.1.xor(o.1))
    }
    #[inline(always)]
    fn rotr<const N: u32>(self) -> Self {
        Pair(self.0.rotr::<N>(), self.1.rotr::<N>())
    }
    #[inline(always)]
    fn shr<const N: u32>(self) -> Self {
        Pair(self.0.shr::<N>(), self.1.shr::<N>())
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        Pair(L::select(mask.0, a.0, b.0), L::select(mask.1, a.1, b.1))
    }
}

/// Four lanes in a plain array: the portable stand-in for a 128-bit vector.
#[derive(Clone, Copy)]
pub struct X4(pub [u32; 4]);

impl Lanes for X4 {
    const LANES: usize = 4;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        X4([x; 4])
    }
    #[inline(always)]
    fn from_fn(f: impl FnMut(usize) -> u32) -> Self {
        X4(core::array::from_fn(f))
    }
    #[inline(always)]
    fn lane(self, i: usize) -> u32 {
        self.0[i]
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        X4(core::array::from_fn(|i| self.0[i].wrapping_add(o.0[i])))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        X4(core::array::from_fn(|i| self.0[i] ^ o.0[i]))
    }
    #[inline(always)]
    fn rotr<const N: u32>(self) -> Self {
        X4(self.0.map(|x| x.rotate_right(N)))
    }
    #[inline(always)]
    fn shr<const N: u32>(self) -> Self {
        X4(self.0.map(|x| x >> N))
    }
    #[inline(always)]
    fn select(mask: Self, a: Self, b: Self) -> Self {
        X4(core::array::from_fn(|i| {
            (a.0[i] & mask.0[i]) | (b.0[i] & !mask.0[i])
        }))
    }
}

/// One wasm `v128` holding four u32 lanes.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub use simd::V128;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use super::Lanes;
    use core::arch::wasm32::*;

    /// Four u32 lanes in one 128-bit wasm SIMD register.
    #[derive(Clone, Copy)]
    pub struct V128(pub v128);

    impl Lanes for V128 {
        const LANES: usize = 4;
        #[inline(always)]
        fn splat(x: u32) -> Self {
            V128(u32x4_splat(x))
        }
        #[inline(always)]
        fn from_fn(mut f: impl FnMut(usize) -> u32) -> Self {
            V128(u32x4(f(0), f(1), f(2), f(3)))
        }
        #[inline(always)]
        fn lane(self, i: usize) -> u32 {
            match i {
                0 => u32x4_extract_lane::<0>(self.0),
                1 => u32x4_extract_lane::<1>(self.0),
                2 => u32x4_extract_lane::<2>(self.0),
                _ => u32x4_extract_lane::<3>(self.0),
            }
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V128(i32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            V128(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        fn rotr<const N: u32>(self) -> Self {
            V128(v128_or(u32x4_shr(self.0, N), i32x4_shl(self.0, 32 - N)))
        }
        #[inline(always)]
        fn shr<const N: u32>(self) -> Self {
            V128(u32x4_shr(self.0, N))
        }
        #[inline(always)]
        fn select(mask: Self, a: Self, b: Self) -> Self {
            V128(v128_bitselect(a.0, b.0, mask.0))
        }
    }
}
