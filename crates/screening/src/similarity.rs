//! Token similarity: Jaro-Winkler over ASCII bytes (the normalised tokens are ASCII).
//!
//! Jaro (1989) with Winkler's prefix bonus (1990): prefix scale 0.1, up to 4 characters,
//! applied when the Jaro similarity is at least 0.7 (the boost threshold).

/// Jaro similarity of two ASCII byte strings.
pub fn jaro(a: &[u8], b: &[u8]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    if a == b {
        return 1.0;
    }
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let window = (b.len() / 2).saturating_sub(1);
    // Names are short; fixed-size flags keep this allocation-free up to 64 bytes.
    let mut a_flags = [false; 64];
    let mut b_flags = [false; 64];
    if b.len() > 64 {
        return jaro_long(a, b);
    }
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_flags[j] && b[j] == ca {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut t = 0usize;
    let mut k = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        if a_flags[i] {
            while !b_flags[k] {
                k += 1;
            }
            if ca != b[k] {
                t += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - (t / 2) as f64) / m) / 3.0
}

fn jaro_long(a: &[u8], b: &[u8]) -> f64 {
    let window = (b.len() / 2).saturating_sub(1);
    let mut a_flags = vec![false; a.len()];
    let mut b_flags = vec![false; b.len()];
    let mut matches = 0usize;
    for (i, &ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_flags[j] && b[j] == ca {
                a_flags[i] = true;
                b_flags[j] = true;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let (mut t, mut k) = (0usize, 0usize);
    for (i, &ca) in a.iter().enumerate() {
        if a_flags[i] {
            while !b_flags[k] {
                k += 1;
            }
            if ca != b[k] {
                t += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - (t / 2) as f64) / m) / 3.0
}

/// Jaro-Winkler similarity.
pub fn jaro_winkler(a: &[u8], b: &[u8]) -> f64 {
    let j = jaro(a, b);
    if j < 0.7 {
        return j;
    }
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count();
    j + prefix as f64 * 0.1 * (1.0 - j)
}

/// Whether `a` and `b` are within one edit (insertion, deletion, substitution or adjacent
/// transposition): the typing errors a person makes.
pub fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    let (la, lb) = (a.len(), b.len());
    if la.abs_diff(lb) > 1 {
        return false;
    }
    let p = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if p == la && p == lb {
        return true;
    }
    let s = a[p..]
        .iter()
        .rev()
        .zip(b[p..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    if la == lb {
        // substitution, or adjacent transposition
        la - p - s <= 1 || (la - p - s == 2 && a[p] == b[p + 1] && a[p + 1] == b[p])
    } else {
        la.max(lb) - p - s <= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Classic examples (Winkler 1990): MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.84, DIXON/DICKSONX 0.813.
        assert!((jaro_winkler(b"martha", b"marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler(b"dwayne", b"duane") - 0.84).abs() < 1e-3);
        assert!((jaro_winkler(b"dixon", b"dicksonx") - 0.8133).abs() < 1e-3);
        assert_eq!(jaro_winkler(b"abc", b"abc"), 1.0);
        assert_eq!(jaro_winkler(b"abc", b"xyz"), 0.0);
    }

    #[test]
    fn one_edit() {
        assert!(within_one_edit(b"produce", b"prodcue"));
        assert!(within_one_edit(b"produce", b"produe"));
        assert!(within_one_edit(b"produce", b"producce"));
        assert!(within_one_edit(b"produce", b"prodice"));
        assert!(!within_one_edit(b"produce", b"prdocue"));
    }
}
