//! Byte-level reading and writing for the protocol's binary encodings.
//!
//! Every multi-byte integer is big-endian (network order, RFC 1700 / RFC 791 convention).
//! The reader never indexes past its input: every read checks the remaining length first and
//! returns a [`DecodeError`] that names the field and the offset, so a decoder fed arbitrary
//! bytes returns an error instead of panicking.

use std::fmt;

/// Why a byte string is not a valid protocol message. `field` names the field being read and
/// `offset` the byte position where reading failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("truncated message: field `{field}` at byte {offset} needs {needed} bytes, {available} left")]
    Truncated {
        field: &'static str,
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("bad magic at byte 0: expected \"SP\", got {found:02x?}")]
    BadMagic { found: [u8; 2] },
    #[error(
        "unsupported protocol version {found} at byte 2 (this build speaks version {supported})"
    )]
    UnsupportedVersion { found: u8, supported: u8 },
    #[error("wrong message kind at byte 3: expected {expected}, got {found}")]
    WrongKind { expected: &'static str, found: u8 },
    #[error("field `{field}` at byte {offset}: {reason}")]
    Invalid {
        field: &'static str,
        offset: usize,
        reason: String,
    },
    #[error("{trailing} trailing bytes after the end of the message at byte {offset}")]
    Trailing { offset: usize, trailing: usize },
}

/// Appends fields to a growing buffer.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self {
            buf: Vec::with_capacity(n),
        }
    }
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// A byte string with a u8 length prefix (identifiers).
    pub(crate) fn short_bytes(&mut self, v: &[u8]) {
        debug_assert!(
            v.len() <= u8::MAX as usize,
            "short field longer than 255 bytes"
        );
        self.buf.push(v.len() as u8);
        self.buf.extend_from_slice(v);
    }
    /// A byte string with a u16 length prefix (embedded messages).
    pub(crate) fn long_bytes(&mut self, v: &[u8]) {
        debug_assert!(
            v.len() <= u16::MAX as usize,
            "long field longer than 65535 bytes"
        );
        self.u16(v.len() as u16);
        self.buf.extend_from_slice(v);
    }
}

/// Reads fields from a byte slice, tracking the offset for error messages.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pub(crate) offset: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self { input, offset: 0 }
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let available = self.input.len() - self.offset;
        if n > available {
            return Err(DecodeError::Truncated {
                field,
                offset: self.offset,
                needed: n,
                available,
            });
        }
        let out = &self.input[self.offset..self.offset + n];
        self.offset += n;
        Ok(out)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        field: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }
    pub(crate) fn short_bytes(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.u8(field)? as usize;
        self.take(n, field)
    }
    pub(crate) fn long_bytes(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = self.u16(field)? as usize;
        self.take(n, field)
    }
    pub(crate) fn invalid(&self, field: &'static str, reason: impl fmt::Display) -> DecodeError {
        DecodeError::Invalid {
            field,
            offset: self.offset,
            reason: reason.to_string(),
        }
    }
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        let trailing = self.input.len() - self.offset;
        if trailing != 0 {
            return Err(DecodeError::Trailing {
                offset: self.offset,
                trailing,
            });
        }
        Ok(())
    }
}
