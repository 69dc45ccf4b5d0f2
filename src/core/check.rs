//! How a file is checked before it joins the queue: what is known from its first bytes and
//! its size decides whether its pixel size must be learned, and what a measured size means
//! (accept, refuse, or re-encode smaller with `downscale`).

use super::validate::{check_dimensions, check_file, fit_within, Rejection, Restrictions};

/// How a file is checked, from what is known before decoding (its type from its first bytes,
/// and its size).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckPlan {
    /// The verdict is known without decoding.
    Decided(Result<(), Rejection>),
    /// Decode the image to learn its pixel size, then ask [`after_measure`]; `so_far` is
    /// the verdict on type and size (a file too large in bytes may still be downscaled).
    Measure {
        /// Verdict on type and size.
        so_far: Result<(), Rejection>,
    },
}

/// Plans the check: decoding is only worth it for a raster image when there are pixel limits
/// to check, or when `downscale` may have to re-encode it (also when it is too large in
/// bytes, which fewer pixels can fix).
///
/// ```
/// use direct_upload::core::check::{plan_check, CheckPlan};
/// use direct_upload::{Rejection, Restrictions};
///
/// let limits = Restrictions::default();
/// assert_eq!(plan_check(&limits, Some("image/svg+xml"), 2_000, false), CheckPlan::Decided(Ok(())));
/// assert_eq!(plan_check(&limits, Some("image/png"), 2_000, false), CheckPlan::Measure { so_far: Ok(()) });
/// let huge = plan_check(&limits, Some("image/jpeg"), 20_000_000, true);
/// assert!(matches!(huge, CheckPlan::Measure { so_far: Err(Rejection::TooLarge { .. }) }));
/// ```
pub fn plan_check(
    restrictions: &Restrictions,
    found: Option<&str>,
    size: u64,
    downscale: bool,
) -> CheckPlan {
    let pixel_limits = restrictions.max_side < u32::MAX || restrictions.max_pixels < u64::MAX;
    let raster = found.is_some_and(|t| t != "image/svg+xml") && (pixel_limits || downscale);
    let verdict = check_file(restrictions, found, size);
    let fixable = downscale && matches!(verdict, Err(Rejection::TooLarge { .. }));
    if raster && (verdict.is_ok() || fixable) {
        CheckPlan::Measure { so_far: verdict }
    } else {
        CheckPlan::Decided(verdict)
    }
}

/// What follows a measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterMeasure {
    /// The verdict is known.
    Decided(Result<(), Rejection>),
    /// Re-encode the image to fit `width`×`height` (and the byte limit), then accept it.
    Downscale {
        /// Target width.
        width: u32,
        /// Target height.
        height: u32,
    },
}

/// Decides after decoding: `pixels` is `None` when the browser could not decode the image.
///
/// ```
/// use direct_upload::core::check::{after_measure, AfterMeasure};
/// use direct_upload::Restrictions;
///
/// let limits = Restrictions::default(); // 12,000 px a side, 100 MP
/// assert_eq!(after_measure(&limits, Ok(()), Some((6_000, 4_000)), true), AfterMeasure::Decided(Ok(())));
/// assert_eq!(after_measure(&limits, Ok(()), Some((24_000, 1_000)), true), AfterMeasure::Downscale { width: 12_000, height: 500 });
/// assert!(matches!(after_measure(&limits, Ok(()), Some((24_000, 1_000)), false), AfterMeasure::Decided(Err(_))));
/// ```
pub fn after_measure(
    restrictions: &Restrictions,
    so_far: Result<(), Rejection>,
    pixels: Option<(u32, u32)>,
    downscale: bool,
) -> AfterMeasure {
    let Some((width, height)) = pixels else {
        return AfterMeasure::Decided(Err(Rejection::Unreadable));
    };
    match check_dimensions(restrictions, width, height).and(so_far) {
        Err(_) if downscale => {
            let (width, height) = fit_within(
                width,
                height,
                restrictions.max_side,
                restrictions.max_pixels,
            );
            AfterMeasure::Downscale { width, height }
        }
        verdict => AfterMeasure::Decided(verdict),
    }
}

/// The sizes a downscale tries, in order: the largest that fits the pixel limits, then 70 %
/// and 50 % of it, for when quality alone cannot bring the file under the byte limit.
///
/// ```
/// use direct_upload::core::check::downscale_sizes;
///
/// assert_eq!(downscale_sizes(1_000, 800), [(1_000, 800), (700, 560), (500, 400)]);
/// assert_eq!(downscale_sizes(1, 1)[2], (1, 1), "never zero");
/// ```
pub fn downscale_sizes(width: u32, height: u32) -> [(u32, u32); 3] {
    // Integer arithmetic: float formatting is never needed, and 70 % is exact enough.
    let scale = |value: u32, percent: u64| ((value as u64 * percent / 100) as u32).max(1);
    [
        (width.max(1), height.max(1)),
        (scale(width, 70), scale(height, 70)),
        (scale(width, 50), scale(height, 50)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_decodes_only_when_it_must() {
        let limits = Restrictions::default();
        assert_eq!(
            plan_check(&limits, None, 2_000, true),
            CheckPlan::Decided(Err(Rejection::Type { found: None })),
            "an unknown type is refused without decoding, even with downscale"
        );
        assert_eq!(
            plan_check(&Restrictions::off(), Some("image/png"), 2_000, false),
            CheckPlan::Decided(Ok(())),
            "no pixel limits, no downscale: nothing to measure"
        );
        assert!(matches!(
            plan_check(&limits, Some("image/png"), 20_000_000, false),
            CheckPlan::Decided(Err(Rejection::TooLarge { .. }))
        ));
        assert_eq!(
            after_measure(&limits, Ok(()), None, true),
            AfterMeasure::Decided(Err(Rejection::Unreadable))
        );
        assert_eq!(
            after_measure(
                &limits,
                Err(Rejection::TooLarge { size: 20, max: 10 }),
                Some((100, 100)),
                true
            ),
            AfterMeasure::Downscale {
                width: 100,
                height: 100
            },
            "too many bytes: re-encoded at the same size first"
        );
    }
}
