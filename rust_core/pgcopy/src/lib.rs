//! reservoir-pgcopy: a streaming decoder of PostgreSQL's binary COPY format.
//!
//! `COPY (query) TO STDOUT (FORMAT binary)` is the cheapest way to read a million rows out of
//! PostgreSQL: no per-row protocol message to parse into a driver's record objects, values in
//! their binary form. The stream arrives in chunks whose boundaries fall anywhere, even inside
//! a value; [`CopyReader`] keeps the unfinished tuple between chunks and hands each complete
//! one to a callback. It checks the signature, refuses OIDs and a stream that ends early. No
//! I/O: the caller feeds the bytes its driver received.
//!
//! The format: <https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4>.

use std::fmt;

/// The 11-byte signature every binary COPY stream starts with.
pub const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const POSTGRES_EPOCH_US: i64 = 946_684_800_000_000;

/// Why a stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyError {
    /// Not a binary COPY stream, or one with a flag this decoder does not read.
    BadHeader(&'static str),
    /// A tuple with another number of fields than expected.
    FieldCount { expected: usize, found: i16 },
    /// A field of the wrong width or encoding for the type asked for.
    BadField { index: usize, reason: &'static str },
    /// More bytes after the trailer, or a tuple after the trailer.
    AfterTrailer,
    /// The stream ended before its trailer.
    Truncated,
}

impl fmt::Display for CopyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadHeader(why) => write!(f, "not a binary COPY stream: {why}"),
            Self::FieldCount { expected, found } => {
                write!(
                    f,
                    "a tuple of {found} fields where {expected} were expected"
                )
            }
            Self::BadField { index, reason } => write!(f, "field {index}: {reason}"),
            Self::AfterTrailer => write!(f, "data after the end of the COPY stream"),
            Self::Truncated => write!(f, "the COPY stream ended before its trailer"),
        }
    }
}

impl std::error::Error for CopyError {}

/// Why [`CopyReader::push`] stopped: the stream was malformed, or the callback refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop<E> {
    Copy(CopyError),
    Callback(E),
}

impl<E> From<CopyError> for Stop<E> {
    fn from(e: CopyError) -> Self {
        Self::Copy(e)
    }
}

/// One decoded tuple: its fields as byte ranges of the reader's buffer.
pub struct Tuple<'a> {
    bytes: &'a [u8],
    fields: &'a [Option<(usize, usize)>],
}

impl<'a> Tuple<'a> {
    /// The raw bytes of field `index`; `None` for SQL NULL.
    pub fn raw(&self, index: usize) -> Option<&'a [u8]> {
        self.fields[index].map(|(start, end)| &self.bytes[start..end])
    }

    fn required(&self, index: usize) -> Result<&'a [u8], CopyError> {
        self.raw(index).ok_or(CopyError::BadField {
            index,
            reason: "NULL where a value is required",
        })
    }

    /// An `int8` (`bigint`) field.
    pub fn int8(&self, index: usize) -> Result<i64, CopyError> {
        let bytes: [u8; 8] = self
            .required(index)?
            .try_into()
            .map_err(|_| CopyError::BadField {
                index,
                reason: "an int8 is 8 bytes",
            })?;
        Ok(i64::from_be_bytes(bytes))
    }

    /// A `text` field.
    pub fn text(&self, index: usize) -> Result<&'a str, CopyError> {
        std::str::from_utf8(self.required(index)?).map_err(|_| CopyError::BadField {
            index,
            reason: "text that is not UTF-8",
        })
    }

    /// A `text` field that may be NULL.
    pub fn text_or_null(&self, index: usize) -> Result<Option<&'a str>, CopyError> {
        match self.raw(index) {
            None => Ok(None),
            Some(_) => self.text(index).map(Some),
        }
    }

    /// A `timestamptz` field as milliseconds since the Unix epoch (rounded down).
    pub fn timestamptz_ms(&self, index: usize) -> Result<i64, CopyError> {
        let bytes: [u8; 8] = self
            .required(index)?
            .try_into()
            .map_err(|_| CopyError::BadField {
                index,
                reason: "a timestamptz is 8 bytes",
            })?;
        let since_2000_us = i64::from_be_bytes(bytes);
        since_2000_us
            .checked_add(POSTGRES_EPOCH_US)
            .map(|us| us.div_euclid(1000))
            .ok_or(CopyError::BadField {
                index,
                reason: "a timestamptz out of range (infinity?)",
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Tuples,
    Done,
}

/// A streaming decoder of tuples with a fixed number of fields.
pub struct CopyReader {
    fields_per_tuple: usize,
    state: State,
    /// Bytes received and not yet consumed: at most one unfinished tuple (or header).
    pending: Vec<u8>,
    ranges: Vec<Option<(usize, usize)>>,
}

/// What one attempt to decode from the front of a buffer found.
enum Step {
    /// Consumed this many bytes.
    Took(usize),
    /// The buffer holds only part of the next item.
    NeedMore,
}

impl CopyReader {
    pub fn new(fields_per_tuple: usize) -> Self {
        Self {
            fields_per_tuple,
            state: State::Header,
            pending: Vec::new(),
            ranges: Vec::with_capacity(fields_per_tuple),
        }
    }

    /// Decodes the complete tuples `chunk` finishes, calling `on_tuple` for each in order.
    /// An error from `on_tuple` stops decoding and is returned.
    pub fn push<E>(
        &mut self,
        chunk: &[u8],
        mut on_tuple: impl FnMut(&Tuple<'_>) -> Result<(), E>,
    ) -> Result<(), Stop<E>> {
        let mut pending = std::mem::take(&mut self.pending);
        let buffer: &[u8] = if pending.is_empty() {
            chunk
        } else {
            pending.extend_from_slice(chunk);
            &pending
        };
        let mut at = 0;
        let outcome = loop {
            match self.step(&buffer[at..], &mut on_tuple) {
                Ok(Step::Took(n)) => at += n,
                Ok(Step::NeedMore) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let rest = buffer[at..].to_vec();
        self.pending = rest;
        outcome
    }

    /// Ends the stream: an error unless the trailer has been read.
    pub fn finish(&self) -> Result<(), CopyError> {
        if self.state == State::Done && self.pending.is_empty() {
            Ok(())
        } else {
            Err(CopyError::Truncated)
        }
    }

    fn step<E>(
        &mut self,
        bytes: &[u8],
        on_tuple: &mut impl FnMut(&Tuple<'_>) -> Result<(), E>,
    ) -> Result<Step, Stop<E>> {
        match self.state {
            State::Header => Ok(self.header(bytes)?),
            State::Done if bytes.is_empty() => Ok(Step::NeedMore),
            State::Done => Err(CopyError::AfterTrailer.into()),
            State::Tuples => {
                let Some(count) = read_i16(bytes, 0) else {
                    return Ok(Step::NeedMore);
                };
                if count == -1 {
                    self.state = State::Done;
                    return Ok(Step::Took(2));
                }
                if usize::try_from(count).ok() != Some(self.fields_per_tuple) {
                    return Err(CopyError::FieldCount {
                        expected: self.fields_per_tuple,
                        found: count,
                    }
                    .into());
                }
                let Some(end) = self.field_ranges(bytes)? else {
                    return Ok(Step::NeedMore);
                };
                on_tuple(&Tuple {
                    bytes,
                    fields: &self.ranges,
                })
                .map_err(Stop::Callback)?;
                Ok(Step::Took(end))
            }
        }
    }

    fn header(&mut self, bytes: &[u8]) -> Result<Step, CopyError> {
        let fixed = SIGNATURE.len() + 8;
        if bytes.len() < fixed {
            if !SIGNATURE.starts_with(&bytes[..bytes.len().min(SIGNATURE.len())]) {
                return Err(CopyError::BadHeader("wrong signature"));
            }
            return Ok(Step::NeedMore);
        }
        if &bytes[..SIGNATURE.len()] != SIGNATURE {
            return Err(CopyError::BadHeader("wrong signature"));
        }
        let flags = read_i32(bytes, SIGNATURE.len()).expect("length checked");
        if flags & (1 << 16) != 0 {
            return Err(CopyError::BadHeader("OIDs included"));
        }
        if flags & !0xffff != 0 {
            return Err(CopyError::BadHeader("an unknown critical flag"));
        }
        let extension = read_i32(bytes, SIGNATURE.len() + 4).expect("length checked");
        let extension =
            usize::try_from(extension).map_err(|_| CopyError::BadHeader("negative extension"))?;
        if bytes.len() < fixed + extension {
            return Ok(Step::NeedMore);
        }
        self.state = State::Tuples;
        Ok(Step::Took(fixed + extension))
    }

    /// Fills `ranges` with the fields of the tuple at the front of `bytes` and returns the
    /// tuple's end, or `None` if it is not complete yet.
    fn field_ranges(&mut self, bytes: &[u8]) -> Result<Option<usize>, CopyError> {
        self.ranges.clear();
        let mut at = 2;
        for index in 0..self.fields_per_tuple {
            let Some(length) = read_i32(bytes, at) else {
                return Ok(None);
            };
            at += 4;
            if length == -1 {
                self.ranges.push(None);
                continue;
            }
            let length = usize::try_from(length).map_err(|_| CopyError::BadField {
                index,
                reason: "a negative length",
            })?;
            if bytes.len() < at + length {
                return Ok(None);
            }
            self.ranges.push(Some((at, at + length)));
            at += length;
        }
        Ok(Some(at))
    }
}

fn read_i16(bytes: &[u8], at: usize) -> Option<i16> {
    let b = bytes.get(at..at + 2)?;
    Some(i16::from_be_bytes([b[0], b[1]]))
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let b = bytes.get(at..at + 4)?;
    Some(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests;
