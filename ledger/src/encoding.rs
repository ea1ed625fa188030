//! The one canonical binary encoding: little-endian fixed-width integers, and byte strings
//! prefixed by their u32 length. Used for hashing, signing and storage alike.

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("input ended early")]
    UnexpectedEnd,
    /// Bytes were left over after the value.
    #[error("{0} trailing bytes")]
    Trailing(usize),
    /// A string was not UTF-8.
    #[error("text is not UTF-8")]
    InvalidUtf8,
    /// A length prefix larger than allowed.
    #[error("length {0} is too large")]
    TooLong(u32),
    /// Bytes that do not start with the domain tag of what they claim to be.
    #[error("the bytes do not start with the expected domain tag")]
    Tag,
    /// A count of seats that does not fit the bytes there are (or no seat at all).
    #[error("{seats} seat(s) do not fit in {bytes} bytes")]
    SeatCount {
        /// The seat count the bytes claim.
        seats: u16,
        /// How many bytes there are.
        bytes: usize,
    },
    /// Made under another version of the format, which this software does not read.
    #[error("made under format version {found}; this software reads version {expected} only")]
    Version {
        /// The version in the bytes.
        found: u32,
        /// The version this software reads.
        expected: u32,
    },
}

/// Appends canonical encodings to a buffer.
#[derive(Default)]
pub struct Writer {
    /// The bytes written so far.
    pub bytes: Vec<u8>,
}

impl Writer {
    /// Appends a u8.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }
    /// Appends a u16, little-endian.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a u32, little-endian.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends a u64, little-endian.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// Appends fixed-size bytes with no prefix.
    pub fn raw(&mut self, v: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(v);
        self
    }
    /// Appends a u32 length, then the bytes.
    pub fn var_bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u32(v.len() as u32).raw(v)
    }
    /// Appends a string as length-prefixed UTF-8.
    pub fn text(&mut self, v: &str) -> &mut Self {
        self.var_bytes(v.as_bytes())
    }
}

/// Reads canonical encodings from a slice.
pub struct Reader<'a> {
    rest: &'a [u8],
}

/// Upper bound on any length prefix, so that a corrupt prefix cannot request gigabytes.
pub const MAX_LEN: u32 = 16 * 1024 * 1024;

impl<'a> Reader<'a> {
    /// Starts reading `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }
    /// Takes `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::UnexpectedEnd);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    /// Reads a u8.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    /// Reads a little-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// Reads a little-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// Reads length-prefixed bytes.
    pub fn var_bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()?;
        if len > MAX_LEN {
            return Err(DecodeError::TooLong(len));
        }
        self.take(len as usize)
    }
    /// Reads length-prefixed UTF-8.
    pub fn text(&mut self) -> Result<String, DecodeError> {
        let bytes = self.var_bytes()?;
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::InvalidUtf8)
    }
    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing(self.rest.len()))
        }
    }
}

/// Reads bincode from bytes that may come from anyone: no length inside may claim more
/// than the bytes hold (bincode would otherwise allocate what a length prefix claims
/// before reading it), and nothing may trail.
pub(crate) fn from_untrusted_bincode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, bincode::Error> {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .reject_trailing_bytes()
        .with_limit(bytes.len() as u64)
        .deserialize(bytes)
}

/// The little-endian `u64` at byte `at` of `bytes` (a fixed-width bincode length), if the
/// bytes reach that far: for checking lengths inside bincode before it reads them.
pub(crate) fn le_u64_at(bytes: &[u8], at: u64) -> Option<u64> {
    let at = usize::try_from(at).ok()?;
    bytes
        .get(at..at.checked_add(8)?)?
        .try_into()
        .ok()
        .map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_truncation_is_an_error() {
        let mut w = Writer::default();
        w.u8(1)
            .u16(2)
            .u32(3)
            .u64(4)
            .text("héllo")
            .var_bytes(&[9, 9]);
        let mut r = Reader::new(&w.bytes);
        assert_eq!(r.u8().unwrap(), 1);
        assert_eq!(r.u16().unwrap(), 2);
        assert_eq!(r.u32().unwrap(), 3);
        assert_eq!(r.u64().unwrap(), 4);
        assert_eq!(r.text().unwrap(), "héllo");
        assert_eq!(r.var_bytes().unwrap(), &[9, 9]);
        r.finish().unwrap();

        let short = &w.bytes[..w.bytes.len() - 1];
        let mut r = Reader::new(short);
        r.take(short.len() - 2).unwrap();
        assert_eq!(r.var_bytes(), Err(DecodeError::UnexpectedEnd));
    }

    #[test]
    fn huge_length_prefix_is_refused() {
        let mut w = Writer::default();
        w.u32(u32::MAX);
        assert_eq!(
            Reader::new(&w.bytes).var_bytes(),
            Err(DecodeError::TooLong(u32::MAX))
        );
    }
}
