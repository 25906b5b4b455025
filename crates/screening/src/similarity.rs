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
    if b.len() <= 64 {
        // Names are short; fixed-size flags keep this allocation-free up to 64 bytes.
        let (mut fa, mut fb) = ([false; 64], [false; 64]);
        jaro_with(a, b, &mut fa, &mut fb)
    } else {
        jaro_with(a, b, &mut vec![false; a.len()], &mut vec![false; b.len()])
    }
}

/// Jaro over `a` (the shorter) and `b`, with match flags of at least their lengths.
fn jaro_with(a: &[u8], b: &[u8], a_flags: &mut [bool], b_flags: &mut [bool]) -> f64 {
    let window = (b.len() / 2).saturating_sub(1);
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

/// An upper bound of the Jaro-Winkler similarity from the lengths and the common prefix
/// alone (every character of the shorter word matched, no transposition).
pub fn jaro_winkler_upper_bound(a: &[u8], b: &[u8]) -> f64 {
    let (min, max) = (
        a.len().min(b.len()) as f64,
        a.len().max(b.len()).max(1) as f64,
    );
    let jaro_max = (2.0 + min / max) / 3.0;
    let prefix = a.iter().zip(b).take(4).take_while(|(x, y)| x == y).count() as f64;
    jaro_max + prefix * 0.1 * (1.0 - jaro_max)
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
        let long_a = [b'a'; 70];
        let mut long_b = long_a;
        long_b[69] = b'b';
        assert!(
            jaro_winkler(&long_a, &long_b) > 0.98,
            "long words take the allocating path"
        );
        for (a, b) in [
            (&b"martha"[..], &b"marhta"[..]),
            (b"dwayne", b"duane"),
            (b"rodrigo", b"rodriguez"),
        ] {
            assert!(jaro_winkler_upper_bound(a, b) >= jaro_winkler(a, b));
        }
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
