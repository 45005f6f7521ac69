//! The client opens its window on a real (virtual) display and draws text.
//!
//! This is the end-to-end check that FLTK was built, links, connects to X and
//! renders a label through pango with a CJK font: the client saves a
//! screenshot of its window and the test looks at the pixels. The PNG stays
//! in Cargo's target tmp directory (`target/tmp/`), so a person can open it
//! and see what the test saw.

use std::{
    collections::HashMap,
    fs::File,
    io::BufReader,
    path::{Path, PathBuf},
    time::Duration,
};

use assert_cmd::Command;

use crate::xvfb::Xvfb;

/// How long the client may take to start, draw and save; generous for a
/// loaded 2-core CI machine, and the test fails rather than hangs past it.
const DEADLINE: Duration = Duration::from_secs(60);

/// The client's window size, in pixels.
const WINDOW: (u32, u32) = (480, 160);

/// The client's label size in pixels: one em of its font.
const LABEL_SIZE: usize = 32;

/// A decoded screenshot: one RGB triple per pixel, row by row.
struct Picture {
    path: PathBuf,
    width: usize,
    height: usize,
    pixels: Vec<[u8; 3]>,
}

#[test]
fn window_shows_the_chinese_label() {
    let xvfb = Xvfb::start();
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reference-client-window.png");
    let _ = std::fs::remove_file(&path);

    Command::new(env!("CARGO_BIN_EXE_reference-client"))
        .arg("--screenshot")
        .arg(&path)
        .env("DISPLAY", xvfb.display())
        .env_remove("WAYLAND_DISPLAY")
        .timeout(DEADLINE)
        .assert()
        .success();

    let picture = Picture::read_png(&path);
    assert_eq!(
        (picture.width as u32, picture.height as u32),
        WINDOW,
        "window size"
    );
    check_light_background(&picture);
    let ink = check_centred_ink(&picture);
    check_chinese_glyphs(&picture, &ink);
}

/// Most of the window is FLTK's light grey background. Noise (a wrong pixel
/// layout, reading freed memory) has no such colour, or a dark one.
fn check_light_background(picture: &Picture) {
    let mut counts: HashMap<[u8; 3], usize> = HashMap::new();
    for pixel in &picture.pixels {
        *counts.entry(*pixel).or_default() += 1;
    }
    assert!(
        counts.len() > 1,
        "the window is a single colour: {counts:?}"
    );
    let (colour, covered) = counts.iter().max_by_key(|(_, n)| **n).expect("no pixels");
    assert!(
        covered * 2 > picture.pixels.len() && colour.iter().all(|&c| c >= 128),
        "the commonest colour {colour:?} covers {covered} of {} pixels: \
         not a light background, noise? see {}",
        picture.pixels.len(),
        picture.path.display()
    );
}

/// The label is black, so text means dark pixels: its 10 glyphs ink about
/// 1,800 of them, all in the middle of the window where the label is centred.
/// Noise scatters them everywhere. Returns the dark pixels' `(x, y)`.
fn check_centred_ink(picture: &Picture) -> Vec<(usize, usize)> {
    let (w, h) = (picture.width, picture.height);
    let ink: Vec<(usize, usize)> = (0..picture.pixels.len())
        .filter(|&i| picture.pixels[i].iter().all(|&c| c < 80))
        .map(|i| (i % w, i / w))
        .collect();
    assert!(
        (500..=w * h / 10).contains(&ink.len()),
        "{} dark pixels: no text, or noise? see {}",
        ink.len(),
        picture.path.display()
    );
    let stray = ink
        .iter()
        .find(|(x, y)| !(w / 8..w * 7 / 8).contains(x) || !(h / 4..h * 3 / 4).contains(y));
    assert!(
        stray.is_none(),
        "dark pixel at {stray:?}, outside the label: see {}",
        picture.path.display()
    );
    ink
}

/// Without a CJK font pango draws each ideograph as a box holding its hex
/// code, which is dark too. Ideographs are set on a square em, so the three of
/// "聊天室" span well over two and a half label sizes (92 pixels with Noto
/// Sans CJK); the hex boxes are narrower (72 pixels). The widest gap between
/// inked columns is the space before "ChatLab".
fn check_chinese_glyphs(picture: &Picture, ink: &[(usize, usize)]) {
    let mut columns: Vec<usize> = ink.iter().map(|(x, _)| *x).collect();
    columns.sort_unstable();
    columns.dedup();
    let space = columns
        .windows(2)
        .max_by_key(|pair| pair[1] - pair[0])
        .expect("the label has more than one inked column");
    let chinese = space[0] - columns[0] + 1;
    assert!(
        chinese * 2 >= LABEL_SIZE * 5,
        "the Chinese part of the label is {chinese} pixels wide, under 2.5 em: \
         hex boxes instead of glyphs (is fonts-noto-cjk installed)? see {}",
        picture.path.display()
    );
}

impl Picture {
    /// Reads an 8-bit RGB PNG, as the client writes them.
    fn read_png(path: &Path) -> Picture {
        let file =
            File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let mut reader = png::Decoder::new(BufReader::new(file))
            .read_info()
            .expect("not a PNG file");
        let mut rgb = vec![0; reader.output_buffer_size().expect("PNG too large")];
        let info = reader.next_frame(&mut rgb).expect("cannot decode the PNG");
        assert_eq!(
            (info.color_type, info.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight),
            "expected 8-bit RGB"
        );
        rgb.truncate(info.buffer_size());
        Picture {
            path: path.to_owned(),
            width: info.width as usize,
            height: info.height as usize,
            pixels: rgb.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect(),
        }
    }
}
