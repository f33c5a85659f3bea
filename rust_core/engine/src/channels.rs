//! Sales channels: the places that sell (web, app, marketplace, wholesale). A channel may
//! withhold a safety buffer of every SKU from its holds (so a channel that learns of stock
//! late, a marketplace polling every 15 minutes, never takes the last units) and may sell only
//! from some locations (and every location inside them).
//!
//! Until a channel is defined, a hold's channel is a free label; once any is, a hold must
//! name a defined one (or none).

use rustc_hash::FxHashMap;

use crate::catalogue::validate_code;
use crate::error::{EngineError, Result};
use crate::ids::LocId;

/// Units of each SKU withheld from a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SafetyBuffer {
    /// This many units.
    Units(u64),
    /// This share (0..=100) of the SKU's on-hand units where the channel sells, rounded up.
    Percent(u8),
}

impl SafetyBuffer {
    pub const NONE: SafetyBuffer = SafetyBuffer::Units(0);

    /// The units withheld from a channel whose locations hold `on_hand` of the SKU.
    pub fn units(self, on_hand: i64) -> i64 {
        match self {
            SafetyBuffer::Units(n) => i64::try_from(n).unwrap_or(i64::MAX),
            SafetyBuffer::Percent(p) => {
                let on_hand = on_hand.max(0);
                (on_hand * i64::from(p) + 99) / 100
            }
        }
    }

    fn validate(self) -> Result<()> {
        match self {
            SafetyBuffer::Percent(p) if p > 100 => Err(EngineError::invalid(
                "safety_buffer_percent",
                "must be between 0 and 100",
            )),
            _ => Ok(()),
        }
    }
}

/// A channel's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub buffer: SafetyBuffer,
    /// Where it may sell from (each place and everything inside it); `None`: everywhere.
    pub locations: Option<Vec<LocId>>,
}

/// Every defined channel, by code.
#[derive(Debug, Clone, Default)]
pub struct Channels {
    by_code: FxHashMap<Box<str>, Channel>,
}

impl Channels {
    /// Defines or replaces a channel.
    pub fn define(&mut self, code: &str, channel: Channel) -> Result<()> {
        validate_code("channel", code)?;
        channel.buffer.validate()?;
        self.by_code.insert(code.into(), channel);
        Ok(())
    }

    /// The channel a hold names: `None` for no channel, or for any label while no channel is
    /// defined; an undefined one once some are.
    pub fn for_hold(&self, code: Option<&str>) -> Result<Option<&Channel>> {
        match code {
            Some(code) if !self.by_code.is_empty() => self
                .by_code
                .get(code)
                .map(Some)
                .ok_or_else(|| EngineError::UnknownChannel(code.to_owned())),
            _ => Ok(None),
        }
    }

    pub fn get(&self, code: &str) -> Option<&Channel> {
        self.by_code.get(code)
    }

    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_in_units_and_percent_rounding_up() {
        assert_eq!(SafetyBuffer::Units(5).units(100), 5);
        assert_eq!(SafetyBuffer::Percent(10).units(100), 10);
        assert_eq!(SafetyBuffer::Percent(10).units(101), 11);
        assert_eq!(SafetyBuffer::Percent(10).units(-3), 0);
        assert_eq!(SafetyBuffer::NONE.units(7), 0);
    }

    #[test]
    fn labels_are_free_until_a_channel_is_defined() {
        let mut channels = Channels::default();
        assert_eq!(channels.for_hold(Some("anything")), Ok(None));
        let web = Channel {
            buffer: SafetyBuffer::Units(2),
            locations: None,
        };
        channels.define("web", web.clone()).unwrap();
        assert_eq!(channels.for_hold(Some("web")), Ok(Some(&web)));
        assert_eq!(channels.for_hold(None), Ok(None));
        assert_eq!(
            channels.for_hold(Some("app")),
            Err(EngineError::UnknownChannel("app".into()))
        );
        let bad = Channel {
            buffer: SafetyBuffer::Percent(101),
            locations: None,
        };
        assert!(channels.define("web", bad).is_err());
        assert!(channels.define("", web).is_err());
    }
}
