#include "data/pathfinder_stimulus.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "config/closest_match.h"
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
  float at(int y, int x) const { return v[static_cast<size_t>((y - y0) * w + (x - x0))]; }
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

  float& img(int y, int x) { return image[static_cast<size_t>(y * n + x)]; }
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
    keep(p, c, placed, margin, contrast, g);
    g.contour.paddles.push_back(placed.paddle);
    g.contour.origin = to_point(tail);
    g.contour.terminal = to_point(head);
    g.pivot = pivot, g.theta = dir.theta;
    return true;
  }
  return false;
}

// The second target's first paddle: `seed_distance` from the first one's tail, any direction.
bool seed_partner(const StimulusParams& p, Canvas& c, int margin, IPoint first_tail, float contrast,
                  Rng& rng, Growing& g) {
  for (int trial = 0; trial <= p.max_paddle_retrial; ++trial) {
    const Direction dir = from_degrees(rng.randint(-180, 179));
    const double theta = dir.theta;
    const double phi = degrees(rng.randint(0, 359));
    const IPoint tail{
        static_cast<int>(std::nearbyint(first_tail.y + p.seed_distance * std::sin(phi))),
        static_cast<int>(std::nearbyint(first_tail.x + p.seed_distance * std::cos(phi)))};
    const IPoint head = translate(tail, theta, p.paddle_length);
    const IPoint pivot = translate(head, theta + kPi, p.paddle_length + margin);
    if (!c.inside(head) || !c.inside(pivot) || !c.inside(tail)) continue;
    const Placed placed = place(p, tail, dir);
    keep(p, c, placed, margin, contrast, g);
    g.contour.paddles.push_back(placed.paddle);
    g.contour.origin = to_point(tail);
    g.contour.terminal = to_point(head);
    g.pivot = pivot, g.theta = theta;
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

// ---- presets and parameters ----

const std::vector<std::string>& difficulty_names() {
  static const std::vector<std::string> names{"curv_baseline", "curv_contour_length_9",
                                              "curv_contour_length_14"};
  return names;
}

StimulusParams preset(int resolution, const std::string& difficulty) {
  int length = 0;
  if (difficulty == "curv_baseline") length = 6;
  if (difficulty == "curv_contour_length_9") length = 9;
  if (difficulty == "curv_contour_length_14") length = 14;
  if (length == 0) {
    const std::string near = closest_match(difficulty, difficulty_names());
    throw std::invalid_argument("pathfinder difficulty '" + difficulty + "' is not one of " +
                                "curv_baseline, curv_contour_length_9, curv_contour_length_14" +
                                (near.empty() ? "" : " (did you mean " + near + "?)"));
  }
  StimulusParams p;  // LRA data/pathfinder.py, Pathfinder32/64/128 docstrings
  p.contour_length = length;
  p.distractor_length = length / 3;
  if (resolution == 32) {
    p.distractors = 20 / p.distractor_length;
  } else if (resolution == 64 || resolution == 128) {
    p.window = resolution;
    p.paddle_length = 5;  // the wrapper's default, not overridden for these sets
    p.paddle_contrast = {1.0};
    if (resolution == 64) {
      p.seed_distance = 12, p.marker_radius = 2.5, p.paddle_thickness = 1.0;
      p.paddle_margin = {1}, p.continuity = 1.8, p.snake_contrast = {0.8};
      p.distractors = 22 / p.distractor_length;
    } else {
      p.seed_distance = 20, p.marker_radius = 3.0, p.paddle_thickness = 1.5;
      p.paddle_margin = {2, 3}, p.continuity = 1.8, p.snake_contrast = {0.9};
      p.distractors = 35 / p.distractor_length;
    }
  } else {
    throw std::invalid_argument("pathfinder resolution " + std::to_string(resolution) +
                                " has no preset; use 32, 64 or 128 (and --param window=... "
                                "for any other size)");
  }
  return p;
}

namespace {

struct Field {
  const char* name;
  const char* help;
  int StimulusParams::*i = nullptr;
  double StimulusParams::*d = nullptr;
  std::vector<int> StimulusParams::*il = nullptr;
  std::vector<double> StimulusParams::*dl = nullptr;
  bool StimulusParams::*b = nullptr;
};

const std::vector<Field>& fields() {
  using P = StimulusParams;
  static const std::vector<Field> f{
      {"window", "image side (pixels)", &P::window},
      {"padding", "border where no paddle starts", &P::padding},
      {"antialias", "antialiasing scale (thickness * antialias whole)", &P::antialias},
      {"seed_distance", "pixels between the targets' first paddles", &P::seed_distance},
      {"marker_radius", "marker disk radius (pixels)", nullptr, &P::marker_radius},
      {"contour_length", "paddles per target contour", &P::contour_length},
      {"distractor_length", "paddles per distractor contour", &P::distractor_length},
      {"distractors", "distractor contours attempted", &P::distractors},
      {"paddle_length", "paddle length (pixels)", &P::paddle_length},
      {"paddle_thickness", "paddle thickness (pixels)", nullptr, &P::paddle_thickness},
      {"paddle_margin", "gap around paddles; list, one drawn per image", nullptr, nullptr,
       &P::paddle_margin},
      {"continuity", "turning penalty (higher = straighter)", nullptr, &P::continuity},
      {"snake_contrast", "contour contrasts; list", nullptr, nullptr, nullptr, &P::snake_contrast},
      {"paddle_contrast", "target paddle contrasts; list", nullptr, nullptr, nullptr,
       &P::paddle_contrast},
      {"single_paddles", "add one-paddle clutter (true/false)", nullptr, nullptr, nullptr, nullptr,
       &P::single_paddles},
      {"max_distractor_retrial", "extra tries per distractor", &P::max_distractor_retrial},
      {"max_paddle_retrial", "extra tries per paddle", &P::max_paddle_retrial},
      {"max_image_retrial", "target pairs tried before giving up", &P::max_image_retrial},
  };
  return f;
}

double parse_number(const std::string& key, const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !std::isfinite(v))
    throw std::invalid_argument("pathfinder parameter " + key + ": '" + text + "' is not a number");
  return v;
}

int parse_int(const std::string& key, const std::string& text) {
  const double v = parse_number(key, text);
  if (v != std::floor(v) || std::abs(v) > 1e9)
    throw std::invalid_argument("pathfinder parameter " + key + ": '" + text +
                                "' is not a whole number");
  return static_cast<int>(v);
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(item);
  return out;
}

}  // namespace

void set_param(StimulusParams& p, const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos)
    throw std::invalid_argument("pathfinder parameter '" + assignment +
                                "' must look like key=value");
  const std::string key = assignment.substr(0, eq), value = assignment.substr(eq + 1);
  for (const Field& f : fields()) {
    if (key != f.name) continue;
    if (f.i) p.*f.i = parse_int(key, value);
    if (f.d) p.*f.d = parse_number(key, value);
    if (f.il) {
      (p.*f.il).clear();
      for (const auto& s : split_list(value)) (p.*f.il).push_back(parse_int(key, s));
    }
    if (f.dl) {
      (p.*f.dl).clear();
      for (const auto& s : split_list(value)) (p.*f.dl).push_back(parse_number(key, s));
    }
    if (f.b) {
      if (value != "true" && value != "false")
        throw std::invalid_argument("pathfinder parameter " + key + ": '" + value +
                                    "' is not true or false");
      p.*f.b = value == "true";
    }
    return;
  }
  std::vector<std::string> names;
  for (const Field& f : fields()) names.push_back(f.name);
  const std::string near = closest_match(key, names);
  throw std::invalid_argument("pathfinder parameter '" + key + "' does not exist" +
                              (near.empty() ? "" : " (did you mean " + near + "?)") +
                              "; lra_prepare pathfinder --help lists them");
}

void validate(const StimulusParams& p) {
  auto bad = [](const std::string& key, const std::string& why) {
    throw std::invalid_argument("pathfinder parameter " + key + ": " + why);
  };
  if (p.window < 8 || p.window > 1024) bad("window", "must be in [8, 1024]");
  if (p.padding < 0 || 2 * p.padding >= p.window) bad("padding", "must be in [0, window / 2)");
  if (p.antialias < 1 || p.antialias > 16) bad("antialias", "must be in [1, 16]");
  if (p.paddle_thickness <= 0) bad("paddle_thickness", "must be > 0");
  if (std::abs(p.paddle_thickness * p.antialias - std::round(p.paddle_thickness * p.antialias)) >
      1e-9)
    bad("paddle_thickness", "times antialias must be a whole number (the reference's rule)");
  if (p.paddle_length < 1) bad("paddle_length", "must be >= 1");
  if (p.contour_length < 1) bad("contour_length", "must be >= 1");
  if (p.distractors < 0) bad("distractors", "must be >= 0");
  if (p.distractors > 0 && p.distractor_length < 1) bad("distractor_length", "must be >= 1");
  if (p.continuity <= 0) bad("continuity", "must be > 0");
  if (p.marker_radius <= 0 || p.marker_radius * 2 >= p.window)
    bad("marker_radius", "must be > 0 and smaller than half the window");
  if (p.seed_distance < 1) bad("seed_distance", "must be >= 1");
  if (4 * p.seed_distance >= p.window)
    bad("seed_distance",
        std::to_string(p.seed_distance) +
            " leaves no room for the first target "
            "paddle: it must stay 2 * seed_distance from every edge, so 4 * seed_distance must be "
            "below window " +
            std::to_string(p.window));
  if (p.paddle_margin.empty()) bad("paddle_margin", "needs at least one value");
  for (int m : p.paddle_margin)
    if (m < 0 || m > p.window / 4) bad("paddle_margin", "values must be in [0, window / 4]");
  if (p.snake_contrast.empty()) bad("snake_contrast", "needs at least one value");
  if (p.paddle_contrast.empty()) bad("paddle_contrast", "needs at least one value");
  for (double v : p.snake_contrast)
    if (v <= 0) bad("snake_contrast", "values must be > 0");
  for (double v : p.paddle_contrast)
    if (v <= 0) bad("paddle_contrast", "values must be > 0");
  if (p.max_paddle_retrial < 0 || p.max_distractor_retrial < 0)
    bad("max_paddle_retrial", "retrial counts must be >= 0");
  if (p.max_image_retrial < 1) bad("max_image_retrial", "must be >= 1");
}

nlohmann::json to_json(const StimulusParams& p) {
  nlohmann::json j = nlohmann::json::object();
  for (const Field& f : fields()) {
    if (f.i) j[f.name] = p.*f.i;
    if (f.d) j[f.name] = p.*f.d;
    if (f.il) j[f.name] = p.*f.il;
    if (f.dl) j[f.name] = p.*f.dl;
    if (f.b) j[f.name] = p.*f.b;
  }
  return j;
}

std::string param_help() {
  const nlohmann::json defaults = to_json(preset(32, "curv_contour_length_14"));
  std::string out;
  for (const Field& f : fields())
    out += "  " + std::string(f.name) + " (" + defaults.at(f.name).dump() + "): " + f.help + "\n";
  return out;
}

}  // namespace lra::pathfinder
