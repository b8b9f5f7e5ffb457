//! Width of text in 11 px Verdana, the font of shields.io badges, so a badge is exactly as wide
//! as its words (no clipping, no gap) without measuring fonts at run time.
//!
//! The table holds Verdana's advance widths of printable ASCII in font units (2 048 to the em);
//! at 11 px a character is `units × 11 / 2048` pixels wide. These are the metrics shields.io's
//! `badge-maker` sums (the classic "build | passing" badge comes out 37 + 51 = 88 px wide, as
//! there); kerning is ignored, as there. Other characters count as wide as `m`, erring wide.

/// Font units per em of Verdana.
const UNITS_PER_EM: f64 = 2048.0;
/// Font size of badge text, pixels.
const SIZE_PX: f64 = 11.0;

/// Advance widths in font units of `' '` (0x20) to `'~'` (0x7E).
const ASCII: [u16; 95] = [
    720, 806, 940, 1676, 1302, 2204, 1488, 550, // space ! " # $ % & '
    930, 930, 1302, 1676, 745, 930, 745, 930, // ( ) * + , - . /
    1302, 1302, 1302, 1302, 1302, 1302, 1302, 1302, // 0 1 2 3 4 5 6 7
    1302, 1302, 930, 930, 1676, 1676, 1676, 1117, // 8 9 : ; < = > ?
    2048, 1400, 1404, 1430, 1578, 1295, 1177, 1588, // @ A B C D E F G
    1539, 862, 931, 1419, 1140, 1726, 1532, 1612, // H I J K L M N O
    1235, 1612, 1424, 1400, 1262, 1499, 1400, 2025, // P Q R S T U V W
    1403, 1260, 1403, 930, 930, 930, 1676, 1302, // X Y Z [ backslash ] ^ _
    1302, 1230, 1276, 1067, 1276, 1220, 720, 1276, // ` a b c d e f g
    1296, 562, 705, 1212, 562, 1992, 1296, 1243, // h i j k l m n o
    1276, 1276, 874, 1067, 807, 1296, 1212, 1676, // p q r s t u v w
    1212, 1212, 1076, 1300, 930, 1300, 1676, // x y z { | } ~
];

/// Width of `m`, used for characters outside the table.
const FALLBACK: u16 = 1992;

/// Width of one character; control characters take no space.
fn char_units(c: char) -> u16 {
    match c {
        // In range, so the subtraction and the index are in bounds.
        ' '..='~' => ASCII[usize::from(c as u8 - b' ')],
        c if c.is_control() => 0,
        _ => FALLBACK,
    }
}

/// Width of `s` in pixels, unrounded.
pub(crate) fn verdana_11(s: &str) -> f64 {
    let units: f64 = s.chars().map(|c| f64::from(char_units(c))).sum();
    units * SIZE_PX / UNITS_PER_EM
}

/// Largest width returned by [`preferred_width`]: small enough that badge arithmetic on it (×10,
/// sums of two widths and paddings) stays far inside `u32`, and far beyond any real label.
pub(crate) const MAX_WIDTH: u32 = u32::MAX / 64;

/// The width shields.io lays text out in: the floor of the width, raised to the next odd
/// number ("increases chances of pixel grid alignment" with the centred text), at most
/// [`MAX_WIDTH`].
pub(crate) fn preferred_width(s: &str) -> u32 {
    // In range after the `min`, so the conversion is exact.
    let w = verdana_11(s).floor().min(f64::from(MAX_WIDTH - 1)) as u32;
    if w % 2 == 0 {
        w + 1
    } else {
        w
    }
}
