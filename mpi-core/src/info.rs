//! Info objects: ordered (key, value) string pairs (MPI-5.0 §10).
//!
//! The standard numbers keys (`MPI_Info_get_nthkey`) from 0 to nkeys - 1 without fixing an
//! order; this one keeps insertion order, and replacing a value keeps the key's place, so a
//! program that sets keys and walks them sees them as it set them (MPICH does the same).
//! The length limits are the C buffer sizes less their NUL, so that every key fits a buffer of
//! `MPI_MAX_INFO_KEY` chars and every value one of `MPI_MAX_INFO_VAL`.

use crate::error::{fail, ErrorClass, Result};

/// Longest key, in bytes (`MPI_MAX_INFO_KEY` less the NUL).
pub const MAX_KEY: usize = 255;
/// Longest value, in bytes (`MPI_MAX_INFO_VAL` less the NUL).
pub const MAX_VALUE: usize = 1023;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    entries: Vec<(String, String)>,
}

/// `MPI_ERR_INFO_KEY` for an empty or too long key.
pub fn check_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return fail(ErrorClass::InfoKey, "empty info key");
    }
    if key.len() > MAX_KEY {
        return fail(ErrorClass::InfoKey, format!("info key of {} bytes is longer than {MAX_KEY}", key.len()));
    }
    Ok(())
}

impl Info {
    pub fn new() -> Info {
        Info::default()
    }

    /// `MPI_Info_set`: adds the key, or replaces its value in place.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        check_key(key)?;
        if value.len() > MAX_VALUE {
            return fail(ErrorClass::InfoValue, format!("info value of {} bytes is longer than {MAX_VALUE}", value.len()));
        }
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_string(),
            None => self.entries.push((key.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// The value of `key`, `None` when it is not set.
    pub fn get(&self, key: &str) -> Result<Option<&str>> {
        check_key(key)?;
        Ok(self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()))
    }

    /// `MPI_Info_delete`: `MPI_ERR_INFO_NOKEY` when the key is not set.
    pub fn delete(&mut self, key: &str) -> Result<()> {
        check_key(key)?;
        match self.entries.iter().position(|(k, _)| k == key) {
            Some(i) => {
                self.entries.remove(i);
                Ok(())
            }
            None => fail(ErrorClass::InfoNokey, format!("info key {key:?} is not set")),
        }
    }

    pub fn nkeys(&self) -> usize {
        self.entries.len()
    }

    /// `MPI_Info_get_nthkey`: `MPI_ERR_ARG` outside 0..nkeys.
    pub fn nth_key(&self, n: i64) -> Result<&str> {
        match usize::try_from(n).ok().and_then(|n| self.entries.get(n)) {
            Some((k, _)) => Ok(k),
            None => fail(ErrorClass::Arg, format!("key number {n} is outside 0..{}", self.entries.len())),
        }
    }

    /// Every (key, value), in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets every pair of `other` here (`MPI_Comm_set_info`: keys `other` does not name keep
    /// their values).
    pub fn merge(&mut self, other: &Info) {
        for (k, v) in other.iter() {
            // Keys and values of `other` already passed the checks.
            let _ = self.set(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_delete_keep_order() {
        let mut i = Info::new();
        i.set("b", "1").unwrap();
        i.set("a", "2").unwrap();
        i.set("c", "3").unwrap();
        i.set("a", "22").unwrap();
        assert_eq!(i.nkeys(), 3);
        assert_eq!([i.nth_key(0).unwrap(), i.nth_key(1).unwrap(), i.nth_key(2).unwrap()], ["b", "a", "c"]);
        assert_eq!(i.get("a").unwrap(), Some("22"));
        assert_eq!(i.get("zz").unwrap(), None);
        i.delete("b").unwrap();
        assert_eq!(i.nth_key(0).unwrap(), "a");
        assert_eq!(i.delete("b").unwrap_err().class, ErrorClass::InfoNokey);
        assert_eq!(i.nth_key(2).unwrap_err().class, ErrorClass::Arg);
        assert_eq!(i.nth_key(-1).unwrap_err().class, ErrorClass::Arg);
    }

    #[test]
    fn limits() {
        let mut i = Info::new();
        i.set(&"k".repeat(MAX_KEY), &"v".repeat(MAX_VALUE)).unwrap();
        assert_eq!(i.set(&"k".repeat(MAX_KEY + 1), "v").unwrap_err().class, ErrorClass::InfoKey);
        assert_eq!(i.set("", "v").unwrap_err().class, ErrorClass::InfoKey);
        assert_eq!(i.set("k", &"v".repeat(MAX_VALUE + 1)).unwrap_err().class, ErrorClass::InfoValue);
        assert_eq!(i.get(&"k".repeat(MAX_KEY + 1)).unwrap_err().class, ErrorClass::InfoKey);
        assert_eq!(i.delete("").unwrap_err().class, ErrorClass::InfoKey);
        // An empty value is a value.
        i.set("e", "").unwrap();
        assert_eq!(i.get("e").unwrap(), Some(""));
    }

    #[test]
    fn merge_keeps_other_keys() {
        let mut a = Info::new();
        a.set("x", "1").unwrap();
        a.set("y", "2").unwrap();
        let mut b = Info::new();
        b.set("y", "3").unwrap();
        b.set("z", "4").unwrap();
        a.merge(&b);
        let all: Vec<_> = a.iter().collect();
        assert_eq!(all, [("x", "1"), ("y", "3"), ("z", "4")]);
    }
}
