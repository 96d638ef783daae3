//! Slot generation for one doctor over a 90-day window.

use std::error::Error;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::{
    SignedDuration, Timestamp,
    civil::{Time, Weekday},
    tz::TimeZone,
};
use medimeet::domain::schedule::*;

struct Inputs {
    avail: Availability,
    taken: Vec<Period>,
    window: SlotWindow,
}

/// A doctor in Berlin working 08:00-12:00, 13:00-17:00 and 18:00-20:00
/// Monday to Saturday, 15-minute visits; 200 taken slots spread over the
/// window, 5 whole days off, 2 h notice, 120-day horizon. The window covers
/// the spring-forward transition of 2026-03-29.
fn inputs() -> Result<Inputs, Box<dyn Error>> {
    let time_zone = TimeZone::get("Europe/Berlin")?;
    let mut weekly = Vec::new();
    for weekday in [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
    ] {
        for interval in ["08:00-12:00", "13:00-17:00", "18:00-20:00"] {
            weekly.push(WeeklyInterval {
                weekday,
                interval: DayInterval::parse(interval)?,
            });
        }
    }
    let now: Timestamp = "2026-03-01T09:17:00Z".parse()?;
    let from: Timestamp = "2026-03-02T00:00:00Z".parse()?;
    let day = SignedDuration::from_hours(24);
    let to = from + day * 90;

    let mut time_off = Vec::new();
    for d in [10, 25, 40, 55, 70] {
        let date = local_date(from + day * d, &time_zone);
        let start = time_zone.to_timestamp(date.to_datetime(Time::midnight()))?;
        let end = time_zone.to_timestamp(date.tomorrow()?.to_datetime(Time::midnight()))?;
        time_off.push(Period::new(start, end)?);
    }

    let avail = Availability {
        time_zone,
        weekly,
        overrides: Vec::new(),
        time_off,
        visit_minutes: 15,
        buffer_minutes: 0,
    };
    avail.validate()?;

    // 200 visits spread over the window: pick every n-th free slot.
    let window = SlotWindow {
        from,
        to,
        now,
        min_notice: SignedDuration::from_hours(2),
        horizon: SignedDuration::from_hours(24 * 120),
    };
    let all = free_slots(&avail, &[], &window);
    let every = (all.len() / 200).max(1);
    let taken: Vec<Period> = all.iter().step_by(every).take(200).copied().collect();

    Ok(Inputs {
        avail,
        taken,
        window,
    })
}

fn slot_generation_90_days(c: &mut Criterion) {
    let inputs = match inputs() {
        Ok(inputs) => inputs,
        Err(e) => {
            eprintln!("cannot build the benchmark inputs: {e}");
            return;
        }
    };
    let Inputs {
        avail,
        taken,
        window,
    } = &inputs;
    let free = free_slots(avail, taken, window).len();
    eprintln!("{} taken, {free} free slots in the window", taken.len());
    c.bench_function("slot_generation_90_days", |b| {
        b.iter(|| {
            black_box(free_slots(
                black_box(avail),
                black_box(taken),
                black_box(window),
            ))
        })
    });
}

criterion_group!(benches, slot_generation_90_days);
criterion_main!(benches);
