//! The protobuf wire format: keys, varints, fixed-width numbers and length-delimited slices.
//!
//! Every read is bounds-checked against the slice it reads from, so a hostile length prefix is
//! an error, never an allocation or a panic.

use super::Reason;

/// The value of one field occurrence, still undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Raw<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

impl Raw<'_> {
    pub(super) fn wire_type(&self) -> u8 {
        match self {
            Raw::Varint(_) => 0,
            Raw::Fixed64(_) => 1,
            Raw::Bytes(_) => 2,
            Raw::Fixed32(_) => 5,
        }
    }
}

pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(super) fn varint(&mut self) -> Result<u64, Reason> {
        let mut value = 0u64;
        for (i, &b) in self.buf.iter().enumerate().take(10) {
            // The tenth byte may only carry the top bit of a 64-bit value.
            if i == 9 && b > 1 {
                return Err(Reason::VarintOverflow);
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                self.buf = &self.buf[i + 1..];
                return Ok(value);
            }
        }
        if self.buf.len() >= 10 {
            Err(Reason::VarintOverflow)
        } else {
            Err(Reason::Truncated)
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Reason> {
        if n > self.buf.len() {
            return Err(Reason::Length {
                len: n as u64,
                remaining: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Reason> {
        let bytes = self.take(N).map_err(|_| Reason::Truncated)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    pub(super) fn fixed64(&mut self) -> Result<u64, Reason> {
        self.fixed::<8>().map(u64::from_le_bytes)
    }

    pub(super) fn fixed32(&mut self) -> Result<u32, Reason> {
        self.fixed::<4>().map(u32::from_le_bytes)
    }

    pub(super) fn length_delimited(&mut self) -> Result<&'a [u8], Reason> {
        let len = self.varint()?;
        match usize::try_from(len) {
            Ok(n) if n <= self.buf.len() => self.take(n),
            _ => Err(Reason::Length {
                len,
                remaining: self.buf.len(),
            }),
        }
    }

    /// The next field: its number and value. Groups (wire types 3 and 4) are an error: no
    /// Kubernetes message uses them.
    pub(super) fn field(&mut self) -> Result<(u32, Raw<'a>), Reason> {
        let key = self.varint()?;
        let tag = u32::try_from(key >> 3).map_err(|_| Reason::FieldNumber(key >> 3))?;
        if tag == 0 {
            return Err(Reason::FieldNumber(0));
        }
        let raw = match key & 7 {
            0 => Raw::Varint(self.varint()?),
            1 => Raw::Fixed64(self.fixed64()?),
            2 => Raw::Bytes(self.length_delimited()?),
            5 => Raw::Fixed32(self.fixed32()?),
            w => {
                return Err(Reason::UnsupportedWireType {
                    tag,
                    wire_type: w as u8,
                });
            }
        };
        Ok((tag, raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(bytes: &[u8]) -> Result<Vec<(u32, Raw<'_>)>, Reason> {
        let mut r = Reader::new(bytes);
        let mut out = Vec::new();
        while !r.is_empty() {
            out.push(r.field()?);
        }
        Ok(out)
    }

    #[test]
    fn varints() {
        let check = |bytes: &[u8], want: Result<u64, Reason>| {
            assert_eq!(Reader::new(bytes).varint(), want, "{bytes:x?}");
        };
        check(&[0], Ok(0));
        check(&[0x96, 0x01], Ok(150));
        check(&[0xff, 0xff, 0xff, 0xff, 0x0f], Ok(u64::from(u32::MAX)));
        // -1 as int32/int64 is ten bytes
        check(
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            Ok(u64::MAX),
        );
        check(
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            Err(Reason::VarintOverflow),
        );
        check(&[0x80; 11], Err(Reason::VarintOverflow));
        check(&[0x80, 0x80], Err(Reason::Truncated));
        check(&[], Err(Reason::Truncated));
    }

    #[test]
    fn keys_and_values() {
        // field 1 varint 150, field 2 "hi", field 3 fixed64 1, field 4 fixed32 2
        let bytes = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19, 1, 0, 0, 0, 0, 0, 0, 0, 0x25, 2, 0, 0,
            0,
        ];
        assert_eq!(
            fields(&bytes),
            Ok(vec![
                (1, Raw::Varint(150)),
                (2, Raw::Bytes(b"hi")),
                (3, Raw::Fixed64(1)),
                (4, Raw::Fixed32(2))
            ])
        );
        assert_eq!(
            fields(&[0x12, 0x05, b'h']),
            Err(Reason::Length {
                len: 5,
                remaining: 1
            })
        );
        assert_eq!(
            fields(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            Err(Reason::Length {
                len: u64::from(u32::MAX),
                remaining: 0
            })
        );
        assert_eq!(fields(&[0x19, 1, 2]), Err(Reason::Truncated));
        assert_eq!(fields(&[0x02]), Err(Reason::FieldNumber(0)));
        assert_eq!(
            fields(&[0x0b]),
            Err(Reason::UnsupportedWireType {
                tag: 1,
                wire_type: 3
            })
        );
        assert_eq!(
            fields(&[0x0e]),
            Err(Reason::UnsupportedWireType {
                tag: 1,
                wire_type: 6
            })
        );
    }
}
