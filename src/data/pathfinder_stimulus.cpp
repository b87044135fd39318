#include "data/pathfinder_stimulus.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "util/rng.h"

namespace lra::pathfinder {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kHalfDiagonal = 0.70711;  // a pixel lies within this of its centre

struct IPoint {
  int y = 0, x = 0;
};

Point to_point(IPoint p) {
  return {static_cast<double>(p.y), static_cast<double>(p.x)};
}

// snakes.translate_coord: move by `dist` along `theta` and round each coordinate up.
IPoint translate(IPoint p, double theta, double dist) {
  return {static_cast<int>(std::ceil(p.y + dist * std::sin(theta))),
          static_cast<int>(std::ceil(p.x + dist * std::cos(theta)))};
}

double degrees(int64_t d) {
  return static_cast<double>(d) * kPi / 180.0;
}

// The set of points within `grow` of a stroke: the segment a->b swept by half-width `half`
// with flat ends (a disk when a == b and half == 0).
struct Shape {
  Point a;
  double uy = 0, ux = 1, length = 0, half = 0, grow = 0;

  // Signed distance from q to the shape's boundary (negative inside); 1-Lipschitz.
  double distance(double y, double x) const {
    const double dy = y - a.y, dx = x - a.x;
    const double t = dy * uy + dx * ux, c = std::abs(dx * uy - dy * ux);
    const double along = std::max(0.0, std::max(-t, t - length));
    const double across = std::max(0.0, c - half);
    return std::sqrt(along * along + across * across) - grow;
  }
  double reach() const { return half + grow + 1.0; }  // beyond the segment's end points
};

// Per-pixel area coverage of a shape on an integer rectangle, by `ss` x `ss` point sampling of
// the pixels the boundary crosses (the antialiased downsampling of the reference renderer).
struct Patch {
  int y0 = 0, x0 = 0, h = 0, w = 0;
  std::vector<float> v;  // h * w
};

Patch cover(const Shape& s, int ss, int lo_y, int lo_x, int hi_y, int hi_x) {
  Patch p;
  const double r = s.reach();
  const double ey = s.a.y + s.uy * s.length, ex = s.a.x + s.ux * s.length;
  p.y0 = std::max(lo_y, static_cast<int>(std::floor(std::min(s.a.y, ey) - r)));
  p.x0 = std::max(lo_x, static_cast<int>(std::floor(std::min(s.a.x, ex) - r)));
  const int y1 = std::min(hi_y, static_cast<int>(std::ceil(std::max(s.a.y, ey) + r)));
  const int x1 = std::min(hi_x, static_cast<int>(std::ceil(std::max(s.a.x, ex) + r)));
  p.h = std::max(0, y1 - p.y0 + 1), p.w = std::max(0, x1 - p.x0 + 1);
  p.v.assign(static_cast<size_t>(p.h) * static_cast<size_t>(p.w), 0.0f);
  const double step = 1.0 / ss;
  for (int i = 0; i < p.h; ++i)
    for (int j = 0; j < p.w; ++j) {
      const double cy = p.y0 + i, cx = p.x0 + j, d = s.distance(cy, cx);
      float c = 0.0f;
      if (d <= -kHalfDiagonal) {
        c = 1.0f;
      } else if (d < kHalfDiagonal) {
        int inside = 0;
        for (int a = 0; a < ss; ++a)
          for (int b = 0; b < ss; ++b)
            inside += s.distance(cy - 0.5 + (a + 0.5) * step, cx - 0.5 + (b + 0.5) * step) <= 0;
        c = static_cast<float>(inside) / static_cast<float>(ss * ss);
      }
      p.v[static_cast<size_t>(i * p.w + j)] = c;
    }
  return p;
}

// The drawn paddle of `length` from `start` along `theta`; its mask grows it by `margin`.
Shape paddle_shape(const StimulusParams& p, Point start, double theta, double grow) {
  Shape s;
  s.a = start;
  s.uy = std::sin(theta), s.ux = std::cos(theta);
  s.length = p.paddle_length;
  // The reference draws the line `round(thickness * antialias)` fine pixels wide, at least one.
  const double fine = std::max(1.0, std::round(p.paddle_thickness * p.antialias));
  s.half = fine / (2.0 * p.antialias);
  s.grow = grow;
  return s;
}

int samples_per_axis(const StimulusParams& p) {
  return 2 * p.antialias;
}

// A paddle direction: integer degrees (seeded paddles) or the reverse of an integer
// displacement (grown paddles, drawn from their far end back toward the pivot). Paddles start
// on integer pixels, so (direction, margin) fixes a paddle's coverage up to a translation.
struct Direction {
  double theta = 0;
  int64_t key = 0;
};
Direction from_degrees(int64_t d) {
  return {degrees(d), d};
}
Direction reverse_of(int dy, int dx) {
  return {std::atan2(dy, dx) + kPi, 1000000 + (int64_t{dy} + 4096) * 8192 + (dx + 4096)};
}

// Coverage of a paddle starting at (0, 0), grown by `grow` (-1 = the ink itself), rendered once
// per thread and parameter set: most paddles are tried and thrown away, so rendering dominates.
const Patch& paddle_stamp(const StimulusParams& p, Direction d, int grow) {
  struct Cache {
    std::tuple<int, double, int> params{-1, 0.0, 0};
    std::unordered_map<int64_t, Patch> stamps;
  };
  thread_local Cache cache;
  const auto params = std::make_tuple(p.paddle_length, p.paddle_thickness, p.antialias);
  if (cache.params != params) cache.params = params, cache.stamps.clear();
  const int64_t key = d.key * 64 + (grow + 1);
  auto it = cache.stamps.find(key);
  if (it == cache.stamps.end()) {
    const Shape shape = paddle_shape(p, {0, 0}, d.theta, std::max(0, grow));
    it = cache.stamps
             .emplace(key,
                      cover(shape, samples_per_axis(p), -(1 << 20), -(1 << 20), 1 << 20, 1 << 20))
             .first;
  }
  return it->second;
}

// Calls f(y, x, value) for every pixel of `patch` shifted by `at` that lies in the n x n window;
// stops early when f returns true, and returns whether it did.
template <class F>
bool visit(const Patch& patch, IPoint at, int n, F f) {
  const int y0 = std::max(0, patch.y0 + at.y), y1 = std::min(n, patch.y0 + at.y + patch.h);
  const int x0 = std::max(0, patch.x0 + at.x), x1 = std::min(n, patch.x0 + at.x + patch.w);
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x)
      if (f(y, x,
            patch.v[static_cast<size_t>((y - at.y - patch.y0) * patch.w + (x - at.x - patch.x0))]))
        return true;
  return false;
}

struct Canvas {
  int n = 0;
  std::vector<float> image, mask;  // ink intensity; occupied area (masks of placed paddles)
  std::vector<uint8_t> forbidden;  // distractors and clutter may put no ink here (markers)

  float& msk(int y, int x) { return mask[static_cast<size_t>(y * n + x)]; }
  bool inside(IPoint q) const { return q.y >= 0 && q.y < n && q.x >= 0 && q.x < n; }
};

void max_into(std::vector<float>& dst, int n, const Patch& patch, IPoint at, float scale) {
  visit(patch, at, n, [&](int y, int x, float v) {
    float& d = dst[static_cast<size_t>(y * n + x)];
    d = std::max(d, scale * v);
    return false;
  });
}

// A paddle on the canvas: where it starts, which way it points and its end points.
struct Placed {
  IPoint at;
  Direction dir;
  Paddle paddle;
};

Placed place(const StimulusParams& p, IPoint at, Direction dir) {
  const Point a = to_point(at);
  return {
      at,
      dir,
      {a,
       {a.y + p.paddle_length * std::sin(dir.theta), a.x + p.paddle_length * std::cos(dir.theta)}}};
}

bool touches_forbidden(const Canvas& c, const Patch& ink, IPoint at) {
  return visit(ink, at, c.n, [&](int y, int x, float v) {
    return v > 0.0f && c.forbidden[static_cast<size_t>(y * c.n + x)];
  });
}

// Where a paddle's tail may go (snakes.seed_snake): the tail is free when no fully covered
// pixel of the paddle's mask lands on an occupied pixel (mask > 0.3) of `blocked`; pixels
// outside the window do not count, as in cv2.dilate. Uniform over the free tails: rejection
// sampling first, enumeration when the free set is small (the same distribution).
bool sample_free_tail(const StimulusParams& p, const Canvas& c, int border, int margin,
                      Direction dir, Rng& rng, IPoint& tail) {
  auto blocked = [&](IPoint q) {
    return q.y < border || q.x < border || q.y >= c.n - border || q.x >= c.n - border ||
           c.mask[static_cast<size_t>(q.y * c.n + q.x)] > 0.3f;
  };
  const Patch& foot = paddle_stamp(p, dir, margin);
  std::vector<IPoint> offsets;
  for (int i = 0; i < foot.h; ++i)
    for (int j = 0; j < foot.w; ++j)
      if (foot.v[static_cast<size_t>(i * foot.w + j)] >= 1.0f)
        offsets.push_back({foot.y0 + i, foot.x0 + j});
  auto free = [&](IPoint t) {
    if (blocked(t)) return false;
    for (const IPoint& o : offsets) {
      const IPoint q{t.y + o.y, t.x + o.x};
      if (c.inside(q) && blocked(q)) return false;
    }
    return true;
  };
  for (int tries = 0; tries < 64; ++tries) {
    const IPoint t{static_cast<int>(rng.randint(0, c.n - 1)),
                   static_cast<int>(rng.randint(0, c.n - 1))};
    if (free(t)) return tail = t, true;
  }
  std::vector<IPoint> all;
  for (int y = 0; y < c.n; ++y)
    for (int x = 0; x < c.n; ++x)
      if (free({y, x})) all.push_back({y, x});
  if (all.empty()) return false;
  tail = all[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(all.size()) - 1))];
  return true;
}

// A contour being grown: the pivot the next paddle turns around, the direction it came from,
// and the mask of its newest paddle (added to the canvas one paddle late, so that neighbours
// may touch).
struct Growing {
  Contour contour;
  IPoint pivot;
  double theta = 0;
  const Patch* last_mask = nullptr;
  IPoint last_at;
};

// Draws a kept paddle's ink and records it as the contour's newest paddle.
void keep(const StimulusParams& p, Canvas& c, const Placed& placed, int margin, float contrast,
          Growing& g) {
  max_into(c.image, c.n, paddle_stamp(p, placed.dir, -1), placed.at, contrast);
  g.last_mask = &paddle_stamp(p, placed.dir, margin);
  g.last_at = placed.at;
}

// A contour's first paddle, from its free end (the contour's origin) to `head`.
void begin_contour(const StimulusParams& p, Canvas& c, const Placed& placed, IPoint head,
                   IPoint pivot, int margin, float contrast, Growing& g) {
  keep(p, c, placed, margin, contrast, g);
  g.contour.paddles.push_back(placed.paddle);
  g.contour.origin = to_point(placed.at);
  g.contour.terminal = to_point(head);
  g.pivot = pivot, g.theta = placed.dir.theta;
}

void commit_last_mask(Canvas& c, const Growing& g) {
  if (g.last_mask) max_into(c.mask, c.n, *g.last_mask, g.last_at, 1.0f);
}

// Seeds a contour (snakes.seed_snake). `border` widens the blocked frame (targets keep
// 2 * seed_distance from the edge); `check_forbidden` keeps distractor ink off the markers.
bool seed_contour(const StimulusParams& p, Canvas& c, int margin, int border, bool check_forbidden,
                  float contrast, Rng& rng, Growing& g) {
  for (int trial = 0; trial <= p.max_paddle_retrial; ++trial) {
    const Direction dir = from_degrees(rng.randint(-180, 179));
    IPoint tail;
    if (!sample_free_tail(p, c, border, margin, dir, rng, tail)) return false;
    const IPoint head = translate(tail, dir.theta, p.paddle_length);
    const IPoint pivot = translate(head, dir.theta + kPi, p.paddle_length + margin);
    if (!c.inside(head) || !c.inside(pivot)) continue;
    const Placed placed = place(p, tail, dir);
    if (check_forbidden && touches_forbidden(c, paddle_stamp(p, dir, -1), tail)) continue;
    begin_contour(p, c, placed, head, pivot, margin, contrast, g);
    return true;
  }
  return false;
}

// The second target's first paddle: `seed_distance` from the first one's tail, any direction.
bool seed_partner(const StimulusParams& p, Canvas& c, int margin, IPoint first_tail, float contrast,
                  Rng& rng, Growing& g) {
  for (int trial = 0; trial <= p.max_paddle_retrial; ++trial) {
    const Direction dir = from_degrees(rng.randint(-180, 179));
    const double phi = degrees(rng.randint(0, 359));
    const IPoint tail{
        static_cast<int>(std::nearbyint(first_tail.y + p.seed_distance * std::sin(phi))),
        static_cast<int>(std::nearbyint(first_tail.x + p.seed_distance * std::cos(phi)))};
    const IPoint head = translate(tail, dir.theta, p.paddle_length);
    const IPoint pivot = translate(head, dir.theta + kPi, p.paddle_length + margin);
    if (!c.inside(head) || !c.inside(pivot) || !c.inside(tail)) continue;
    const Placed placed = place(p, tail, dir);
    begin_contour(p, c, placed, head, pivot, margin, contrast, g);
    return true;
  }
  return false;
}

// Largest mask value within `margin` of (y, x): the reference's dilation by a disk.
float dilated_at(const Canvas& c, int y, int x, int margin) {
  float m = 0.0f;
  for (int dy = -margin; dy <= margin; ++dy)
    for (int dx = -margin; dx <= margin; ++dx) {
      if (dy * dy + dx * dx > margin * margin) continue;
      const int yy = y + dy, xx = x + dx;
      if (yy >= 0 && yy < c.n && xx >= 0 && xx < c.n) m = std::max(m, c.mask[yy * c.n + xx]);
    }
  return m;
}

// The candidate far ends around a pivot (get_coords_cmf): points every pixel of arc on the
// circle of `radius`, truncated to pixels, unique, in (row, column) order; the same offsets for
// every integer pivot, so they are computed once per radius.
struct RingPoint {
  int dy, dx;
  double theta;   // direction from the pivot
  double fy, fx;  // the unrounded offset, for the reference's bounds test
  bool fits(IPoint pivot, int n) const {
    const double y = pivot.y + fy, x = pivot.x + fx;
    return y >= 0 && y < n && x >= 0 && x < n;
  }
};

const std::vector<RingPoint>& candidate_ring(int radius) {
  thread_local std::unordered_map<int, std::vector<RingPoint>> rings;
  auto it = rings.find(radius);
  if (it != rings.end()) return it->second;
  std::vector<RingPoint> ring;
  const double step_deg = 360.0 / (2.0 * radius * kPi);
  for (int k = 0; k * step_deg < 360.0; ++k) {
    const double a = k * step_deg * kPi / 180.0;
    const double fy = radius * std::sin(a), fx = radius * std::cos(a);
    // Truncating pivot + offset equals pivot + floor(offset) for the in-window points kept.
    const int dy = static_cast<int>(std::floor(fy)), dx = static_cast<int>(std::floor(fx));
    ring.push_back({dy, dx, std::atan2(dy, dx), fy, fx});
  }
  std::sort(ring.begin(), ring.end(), [](const RingPoint& u, const RingPoint& v) {
    return u.dy != v.dy ? u.dy < v.dy : u.dx < v.dx;
  });
  ring.erase(std::unique(ring.begin(), ring.end(),
                         [](const RingPoint& u, const RingPoint& v) {
                           return u.dy == v.dy && u.dx == v.dx;
                         }),
             ring.end());
  return rings.emplace(radius, std::move(ring)).first->second;
}

// One more paddle (snakes.extend_snake + get_coords_cmf): candidate far ends on the circle of
// radius length + margin around the next pivot, weighted by the continuity prior and by how
// free each candidate is; a candidate whose mask collides with the canvas is redrawn.
bool extend_contour(const StimulusParams& p, Canvas& c, int margin, bool check_forbidden,
                    float contrast, Rng& rng, Growing& g) {
  const IPoint pivot = translate(g.pivot, g.theta, p.paddle_length + 2 * margin);
  const auto& ring = candidate_ring(p.paddle_length + margin);
  std::vector<IPoint> cands;
  std::vector<double> theta, cmf;
  double total = 0;
  for (const RingPoint& r : ring) {
    const IPoint q{pivot.y + r.dy, pivot.x + r.dx};
    if (!r.fits(pivot, c.n)) continue;
    const double diff = std::abs(r.theta - g.theta);
    const double turn = std::min(std::min(diff, 2 * kPi - diff) * p.continuity, 0.5 * kPi);
    const double w = std::pow(std::max(std::cos(turn), 0.0), 2);
    total += (1.0 - dilated_at(c, q.y, q.x, margin)) * w;
    cands.push_back(q), theta.push_back(r.theta), cmf.push_back(total);
  }
  if (cands.empty()) return false;
  if (total < 1e-4) return false;
  for (int trial = 0; trial <= p.max_paddle_retrial; ++trial) {
    const double r = rng.uniform() * total;
    const size_t k = static_cast<size_t>(std::upper_bound(cmf.begin(), cmf.end(), r) - cmf.begin());
    const size_t i = std::min(k, cands.size() - 1);
    const Direction dir = reverse_of(cands[i].y - pivot.y, cands[i].x - pivot.x);
    const bool collides =
        visit(paddle_stamp(p, dir, margin), cands[i], c.n, [&](int y, int x, float v) {
          return c.mask[static_cast<size_t>(y * c.n + x)] + v >= 1.8f;
        });
    if (collides) continue;
    if (check_forbidden && touches_forbidden(c, paddle_stamp(p, dir, -1), cands[i])) continue;
    commit_last_mask(c, g);
    const Placed placed = place(p, cands[i], dir);
    keep(p, c, placed, margin, contrast, g);
    // The drawn paddle runs from the far end back toward the pivot: store it pivot-side first.
    g.contour.paddles.push_back({placed.paddle.b, placed.paddle.a});
    g.contour.terminal = to_point(cands[i]);
    g.pivot = pivot, g.theta = theta[i];
    return true;
  }
  return false;
}

template <class T>
const T& pick(const std::vector<T>& v, Rng& rng) {
  return v[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(v.size()) - 1))];
}

Canvas blank_canvas(const StimulusParams& p) {
  Canvas c;
  c.n = p.window;
  const size_t area = static_cast<size_t>(c.n) * static_cast<size_t>(c.n);
  c.image.assign(area, 0.0f), c.mask.assign(area, 0.0f), c.forbidden.assign(area, 0);
  for (int y = 0; y < c.n; ++y)
    for (int x = 0; x < c.n; ++x)
      if (y < p.padding || x < p.padding || y >= c.n - p.padding || x >= c.n - p.padding)
        c.msk(y, x) = 1.0f;
  return c;
}

// snakes2.two_snakes: both targets seeded near each other, then grown a paddle at a time.
bool two_targets(const StimulusParams& p, int margin, Rng& rng, Canvas& c, Growing g[2]) {
  c = blank_canvas(p);
  std::vector<double> mu = p.snake_contrast;
  mu.insert(mu.end(), p.snake_contrast.begin(), p.snake_contrast.end());
  rng.shuffle(mu);
  const float c0 = static_cast<float>(pick(p.paddle_contrast, rng) * mu[0]);
  if (!seed_contour(p, c, margin, 2 * p.seed_distance, false, c0, rng, g[0])) return false;
  const float c1 = static_cast<float>(pick(p.paddle_contrast, rng) * mu[1]);
  const IPoint tail0{static_cast<int>(g[0].contour.origin.y),
                     static_cast<int>(g[0].contour.origin.x)};
  if (!seed_partner(p, c, margin, tail0, c1, rng, g[1])) return false;
  for (int s = 1; s < p.contour_length; ++s) {
    const double contrast = pick(p.paddle_contrast, rng);
    for (int t = 0; t < 2; ++t)
      if (!extend_contour(p, c, margin, false, static_cast<float>(contrast * mu[t]), rng, g[t]))
        return false;
  }
  // The reference adds only the second target's last mask here; both keep distractors away.
  for (int t = 0; t < 2; ++t) commit_last_mask(c, g[t]);
  return true;
}

double free_fraction(const Canvas& c) {
  int64_t free = 0;
  for (float m : c.mask) free += m <= 0.3f;
  return static_cast<double>(free) / static_cast<double>(c.mask.size());
}

// snakes.make_many_snakes with allow_incomplete: each contour gets 1 + retrial tries and is
// dropped if none fits; nothing more is tried once under 1% of the canvas is free.
void add_contours(const StimulusParams& p, Canvas& c, int margin, int count, int length,
                  int retrial, Contour::Kind kind, Rng& rng, std::vector<Contour>& out) {
  for (int k = 0; k < count; ++k)
    for (int attempt = 0; attempt <= retrial; ++attempt) {
      if (free_fraction(c) < 0.01) return;
      const Canvas before = c;
      Growing g;
      g.contour.kind = kind;
      bool ok = seed_contour(p, c, margin, 1, true, static_cast<float>(pick(p.snake_contrast, rng)),
                             rng, g);
      for (int s = 1; ok && s < length; ++s)
        ok = extend_contour(p, c, margin, true, static_cast<float>(pick(p.snake_contrast, rng)),
                            rng, g);
      if (ok) {
        commit_last_mask(c, g);
        out.push_back(std::move(g.contour));
        break;
      }
      c = before;
    }
}

// Marker ink of all four target ends, grown by a pixel: no distractor may touch any of them
// (marking all four keeps the label invisible in where distractors are missing).
void forbid_marker_areas(const StimulusParams& p, Canvas& c, const Growing g[2]) {
  for (int t = 0; t < 2; ++t)
    for (Point end : {g[t].contour.origin, g[t].contour.terminal}) {
      const auto ink = render_marker(p, end);
      for (int y = 0; y < c.n; ++y)
        for (int x = 0; x < c.n; ++x) {
          if (ink[static_cast<size_t>(y * c.n + x)] <= 0.0f) continue;
          for (int dy = -1; dy <= 1; ++dy)
            for (int dx = -1; dx <= 1; ++dx)
              if (c.inside({y + dy, x + dx}))
                c.forbidden[static_cast<size_t>((y + dy) * c.n + x + dx)] = 1;
        }
    }
}

// snakes2.from_wrapper's clutter count (only when single_paddles is on).
int clutter_count(const StimulusParams& p, int margin) {
  const double factor = 123.5 / (7.5 + 13.0 * margin + 4.0 * margin * margin);
  return std::max(0, static_cast<int>(150 * factor) - 2 * p.contour_length -
                         p.distractors * p.distractor_length);
}

// scipy.misc.imsave's bytescale: the brightest pixel becomes 255.
std::vector<uint8_t> to_bytes(const std::vector<float>& v) {
  const float top = *std::max_element(v.begin(), v.end());
  std::vector<uint8_t> out(v.size(), 0);
  if (top <= 0.0f) return out;
  for (size_t i = 0; i < v.size(); ++i)
    out[i] = static_cast<uint8_t>(std::floor(std::max(0.0f, v[i]) * 255.0f / top + 0.5f));
  return out;
}

}  // namespace

std::vector<float> render_marker(const StimulusParams& p, Point centre) {
  Shape disk;
  disk.a = centre, disk.grow = p.marker_radius;
  const Patch patch = cover(disk, samples_per_axis(p), 0, 0, p.window - 1, p.window - 1);
  std::vector<float> out(static_cast<size_t>(p.window) * static_cast<size_t>(p.window), 0.0f);
  max_into(out, p.window, patch, {0, 0}, 1.0f);
  return out;
}

std::vector<float> render_paddles(const StimulusParams& p, const std::vector<Paddle>& paddles) {
  std::vector<float> out(static_cast<size_t>(p.window) * static_cast<size_t>(p.window), 0.0f);
  for (const Paddle& q : paddles) {
    const double theta = std::atan2(q.b.y - q.a.y, q.b.x - q.a.x);
    const Shape s = paddle_shape(p, q.a, theta, 0.0);
    max_into(out, p.window, cover(s, samples_per_axis(p), 0, 0, p.window - 1, p.window - 1), {0, 0},
             1.0f);
  }
  return out;
}

Stimulus generate(const StimulusParams& p, uint64_t seed, int64_t index) {
  Rng rng(derive_seed(seed, static_cast<uint64_t>(index)));
  Stimulus s;
  s.label = static_cast<int>(rng.randint(0, 1));
  s.margin = pick(p.paddle_margin, rng);
  Canvas c;
  Growing g[2];
  for (s.attempts = 1;; ++s.attempts) {
    g[0] = Growing{}, g[1] = Growing{};
    if (two_targets(p, s.margin, rng, c, g)) break;
    if (s.attempts >= p.max_image_retrial)
      throw std::invalid_argument(
          "pathfinder: no pair of target contours fitted in " +
          std::to_string(p.max_image_retrial) + " tries (image " + std::to_string(index) +
          "); contour_length " + std::to_string(p.contour_length) + " with paddle_length " +
          std::to_string(p.paddle_length) + " and margin " + std::to_string(s.margin) +
          " does not fit a " + std::to_string(p.window) +
          "-pixel window: lower contour_length "
          "or seed_distance, or raise window");
  }
  s.contours = {g[0].contour, g[1].contour};
  forbid_marker_areas(p, c, g);
  add_contours(p, c, s.margin, p.distractors, p.distractor_length, p.max_distractor_retrial,
               Contour::kDistractor, rng, s.contours);
  if (p.single_paddles)
    add_contours(p, c, s.margin, clutter_count(p, s.margin), 1, p.max_paddle_retrial,
                 Contour::kClutter, rng, s.contours);

  s.origin_contour = static_cast<int>(rng.randint(0, 1));
  s.terminal_contour = s.label ? s.origin_contour : 1 - s.origin_contour;
  s.markers[0] = s.contours[static_cast<size_t>(s.origin_contour)].origin;
  s.markers[1] = s.contours[static_cast<size_t>(s.terminal_contour)].terminal;
  for (const Point& m : s.markers) {
    const auto ink = render_marker(p, m);
    for (size_t i = 0; i < ink.size(); ++i) c.image[i] = std::max(c.image[i], ink[i]);
  }
  s.pixels = to_bytes(c.image);
  return s;
}

}  // namespace lra::pathfinder
