use proptest::prelude::*;

use super::*;

/// A value as the encoder writes it.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Int8(i64),
    Text(String),
    Null,
}

fn encode(tuples: &[Vec<Value>], extension: &[u8]) -> Vec<u8> {
    let mut out = SIGNATURE.to_vec();
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&(extension.len() as i32).to_be_bytes());
    out.extend_from_slice(extension);
    for tuple in tuples {
        out.extend_from_slice(&(tuple.len() as i16).to_be_bytes());
        for value in tuple {
            match value {
                Value::Int8(v) => {
                    out.extend_from_slice(&8i32.to_be_bytes());
                    out.extend_from_slice(&v.to_be_bytes());
                }
                Value::Text(s) => {
                    out.extend_from_slice(&(s.len() as i32).to_be_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
                Value::Null => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

/// Decodes `chunks` of a stream of (int8, text-or-null) tuples.
fn decode(chunks: &[&[u8]]) -> Result<Vec<(i64, Option<String>)>, CopyError> {
    let mut reader = CopyReader::new(2);
    let mut out = Vec::new();
    for chunk in chunks {
        reader
            .push(chunk, |t| {
                let text = t.text_or_null(1)?.map(str::to_owned);
                out.push((t.int8(0)?, text));
                Ok::<(), CopyError>(())
            })
            .map_err(|stop| match stop {
                Stop::Copy(e) | Stop::Callback(e) => e,
            })?;
    }
    reader.finish()?;
    Ok(out)
}

fn pair(n: i64, text: Option<&str>) -> Vec<Value> {
    vec![
        Value::Int8(n),
        text.map_or(Value::Null, |s| Value::Text(s.to_owned())),
    ]
}

#[test]
fn decodes_tuples_in_order_with_nulls_and_a_header_extension() {
    let stream = encode(
        &[
            pair(1, Some("SKU-1")),
            pair(-7, None),
            pair(i64::MAX, Some("")),
        ],
        b"ext",
    );
    assert_eq!(
        decode(&[&stream]).unwrap(),
        vec![
            (1, Some("SKU-1".into())),
            (-7, None),
            (i64::MAX, Some(String::new()))
        ]
    );
}

#[test]
fn an_empty_result_is_a_header_and_a_trailer() {
    assert_eq!(decode(&[&encode(&[], b"")]).unwrap(), vec![]);
}

#[test]
fn a_stream_cut_short_is_refused_at_finish() {
    let stream = encode(&[pair(1, Some("a")), pair(2, Some("b"))], b"");
    for cut in 0..stream.len() {
        assert_eq!(
            decode(&[&stream[..cut]]),
            Err(CopyError::Truncated),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_wrong_signature_is_refused_as_soon_as_it_shows() {
    let mut reader = CopyReader::new(2);
    let refused = reader.push(b"COPY", |_| Ok::<(), CopyError>(()));
    assert_eq!(
        refused,
        Err(Stop::Copy(CopyError::BadHeader("wrong signature")))
    );
}

#[test]
fn oids_and_unknown_critical_flags_are_refused() {
    for flag in [1i32 << 16, 1 << 20] {
        let mut stream = encode(&[], b"");
        stream[11..15].copy_from_slice(&flag.to_be_bytes());
        assert!(matches!(decode(&[&stream]), Err(CopyError::BadHeader(_))));
    }
}

#[test]
fn a_tuple_of_another_width_is_refused() {
    let stream = encode(&[vec![Value::Int8(1)]], b"");
    assert_eq!(
        decode(&[&stream]),
        Err(CopyError::FieldCount {
            expected: 2,
            found: 1
        })
    );
}

#[test]
fn a_field_of_the_wrong_width_or_encoding_is_named() {
    let short_int = encode(&[vec![Value::Text("abc".into()), Value::Null]], b"");
    assert_eq!(
        decode(&[&short_int]),
        Err(CopyError::BadField {
            index: 0,
            reason: "an int8 is 8 bytes"
        })
    );
    let mut bad_utf8 = encode(&[pair(1, Some("ab"))], b"");
    let at = bad_utf8.len() - 4;
    bad_utf8[at] = 0xff;
    assert_eq!(
        decode(&[&bad_utf8]),
        Err(CopyError::BadField {
            index: 1,
            reason: "text that is not UTF-8"
        })
    );
}

#[test]
fn data_after_the_trailer_is_refused() {
    let mut stream = encode(&[pair(1, None)], b"");
    stream.push(0);
    assert_eq!(decode(&[&stream]), Err(CopyError::AfterTrailer));
}

#[test]
fn an_error_from_the_callback_stops_decoding() {
    let stream = encode(&[pair(1, None), pair(2, None), pair(3, None)], b"");
    let mut reader = CopyReader::new(2);
    let mut seen = Vec::new();
    let refused = reader.push(&stream, |t| {
        let n = t.int8(0)?;
        seen.push(n);
        if n == 2 {
            return Err(CopyError::BadField {
                index: 0,
                reason: "two",
            });
        }
        Ok(())
    });
    assert!(matches!(refused, Err(Stop::Callback(_))));
    assert_eq!(seen, vec![1, 2]);
}

#[test]
fn timestamptz_is_read_as_unix_milliseconds() {
    // 2026-12-01 00:00:00.123 UTC, as PostgreSQL sends it: microseconds since 2000-01-01.
    let unix_ms: i64 = 1_796_083_200_123;
    let since_2000_us = unix_ms * 1000 - POSTGRES_EPOCH_US;
    let stream = encode(&[vec![Value::Int8(since_2000_us), Value::Null]], b"");
    let mut reader = CopyReader::new(2);
    let mut got = None;
    reader
        .push(&stream, |t| {
            got = Some(t.timestamptz_ms(0)?);
            Ok::<(), CopyError>(())
        })
        .unwrap();
    assert_eq!(got, Some(unix_ms));
    // Before 1970 rounds down, as a floor of microseconds does.
    let stream = encode(
        &[vec![Value::Int8(-POSTGRES_EPOCH_US - 1), Value::Null]],
        b"",
    );
    let mut reader = CopyReader::new(2);
    reader
        .push(&stream, |t| {
            got = Some(t.timestamptz_ms(0)?);
            Ok::<(), CopyError>(())
        })
        .unwrap();
    assert_eq!(got, Some(-1));
}

fn tuples() -> impl Strategy<Value = Vec<(i64, Option<String>)>> {
    prop::collection::vec(
        (any::<i64>(), prop::option::of("[a-zA-Z0-9é-]{0,12}")),
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5eed), ..ProptestConfig::default() })]

    /// However the driver splits the stream, the same tuples come out in the same order.
    #[test]
    fn any_split_of_the_stream_decodes_the_same(
        rows in tuples(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let encoded: Vec<Vec<Value>> = rows.iter().map(|(n, s)| pair(*n, s.as_deref())).collect();
        let stream = encode(&encoded, b"");
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let chunks: Vec<&[u8]> = points.windows(2).map(|w| &stream[w[0]..w[1]]).collect();
        prop_assert_eq!(decode(&chunks).unwrap(), rows);
    }
}
