//! The batch at a glance: the total bar, the status line ("148 of 200 stored, 2 failed,
//! 31 MB/s, about 4 s left") and "Clear finished".

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::reactive;
use crate::browser::timer;
use crate::core::throughput::Throughput;
use crate::uploader::Uploader;

/// How often the speed shown is worked out again: often enough to follow the batch, seldom
/// enough to be read (the bar moves every frame, a number that did would flicker).
const SPEED_EVERY_MS: u32 = 1_000;

/// The summary above the file list.
#[component]
pub(crate) fn Summary(
    /// The queue summed up.
    uploader: Uploader,
) -> impl IntoView {
    let lang = move || uploader.lang();
    let summary = uploader.summary;
    let speed = speed_of(uploader);
    view! {
        <div class="du__summary" hidden=reactive(move || summary.get().files == 0)>
            <progress
                class="du__total"
                max="100"
                value=move || summary.get().percent()
                aria-label=reactive(move || lang().total_progress())
            ></progress>
            <div class="du__summary-row">
                <p class="du__status">{reactive(move || lang().progress(&summary.get(), known_speed(speed.get())))}</p>
                <button
                    type="button"
                    class="du__clear"
                    hidden=reactive(move || { let s = summary.get(); s.done + s.cancelled == 0 })
                    on:click=move |_| uploader.clear_finished()
                >{reactive(move || lang().clear_finished())}</button>
            </div>
        </div>
    }
}

/// The batch's speed in bytes per second while files are pending, 0 while it is not known.
/// Every summary is a sample; while files are pending, a timer also samples once a second (so
/// that a stalled batch's speed runs out instead of freezing) and shows the speed it measures.
///
/// A `RwSignal<u32>` and not an `Option<u64>` signal: the list's scroll signals are
/// `RwSignal<u32>`, and each signal value type links its own copy of Leptos' arena code. A
/// measured speed is never 0 (`Throughput` says `None` then), and 4 GB/s is beyond any upload.
fn speed_of(uploader: Uploader) -> RwSignal<u32> {
    let summary = uploader.summary;
    let speed = RwSignal::new(0u32);
    let set_speed = move |measured: Option<u64>| {
        let stored = measured.map_or(0, |bytes| u32::try_from(bytes).unwrap_or(u32::MAX));
        speed.try_set(stored)
    };
    // The meter and whether its timer runs, in one stored value (one value type).
    let meter = StoredValue::new((Throughput::default(), false));
    let sample = move || {
        let s = summary.try_get_untracked()?;
        let now = timer::now_ms();
        meter.try_update_value(|(meter, _)| {
            if s.pending == 0 {
                meter.clear();
            } else {
                meter.record(now, s.bytes_sent);
            }
        })?;
        Some(s.pending)
    };
    let ticking =
        move |now: bool| meter.try_update_value(|(_, ticking)| std::mem::replace(ticking, now));
    Effect::new(move |_| {
        let pending = summary.with(|s| s.pending);
        sample();
        if pending == 0 {
            set_speed(None);
            return;
        }
        // Already ticking: the timer keeps going.
        if ticking(true) != Some(false) {
            return;
        }
        spawn_local(async move {
            loop {
                timer::sleep_ms(SPEED_EVERY_MS).await;
                // Ends with the batch, or with the widget (its values are gone then).
                match sample() {
                    Some(pending) if pending > 0 => {}
                    _ => break,
                }
                let Some(measured) = meter.try_with_value(|(meter, _)| meter.bytes_per_second())
                else {
                    break;
                };
                set_speed(measured);
            }
            ticking(false);
        });
    });
    speed
}

/// The speed shown, from [`speed_of`]'s signal: `None` while it is not known.
fn known_speed(stored: u32) -> Option<u64> {
    (stored > 0).then_some(u64::from(stored))
}
