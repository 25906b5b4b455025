//! Points on the WGS84 mean sphere and the small amount of 3-D vector algebra the geometry
//! needs. Positions are unit vectors in an Earth-centred frame (x towards 0°N 0°E, z towards
//! the North Pole); angles are radians along the sphere.

use crate::error::LocateError;

/// Mean radius R1 of the WGS84 ellipsoid, (2a + b) / 3, in km (NGA TR8350.2 §3; the value
/// the reference notes use for their measurements, location.md §2.5). Great-circle distances
/// on this sphere differ from ellipsoidal geodesics by at most about 0.5 %, far inside the
/// slack of the 2/3 c bound (median bound / true distance = 2.0 on real paths, §0).
pub const EARTH_RADIUS_KM: f64 = 6_371.008_8;

/// A unit vector (or any 3-vector) in the Earth-centred frame.
pub type Vec3 = [f64; 3];

#[inline]
pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
#[inline]
pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
#[inline]
pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}
#[inline]
pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
#[inline]
pub fn scale(a: Vec3, k: f64) -> Vec3 {
    [a[0] * k, a[1] * k, a[2] * k]
}
#[inline]
pub fn norm(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}
/// `a / |a|`, or `None` for a (numerically) zero vector.
#[inline]
pub fn normalize(a: Vec3) -> Option<Vec3> {
    let n = norm(a);
    if n > 1e-300 && n.is_finite() {
        Some(scale(a, 1.0 / n))
    } else {
        None
    }
}
/// Angle between two unit vectors, robust near 0 and π (atan2 of |a×b| and a·b).
#[inline]
pub fn angle(a: Vec3, b: Vec3) -> f64 {
    norm(cross(a, b)).atan2(dot(a, b))
}
/// Some unit vector perpendicular to the unit vector `c`.
pub fn perpendicular(c: Vec3) -> Vec3 {
    // Cross with the axis least aligned with c, so the result is well conditioned.
    let axis = if c[0].abs() <= c[1].abs() && c[0].abs() <= c[2].abs() {
        [1.0, 0.0, 0.0]
    } else if c[1].abs() <= c[2].abs() {
        [0.0, 1.0, 0.0]
    } else {
        [0.0, 0.0, 1.0]
    };
    normalize(cross(c, axis)).expect("c is a unit vector, so it is not parallel to every axis")
}

/// A validated position: latitude in [-90, 90], longitude in [-180, 180], degrees, finite.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, LocateError> {
        if lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon)
        {
            Ok(Self { lat, lon })
        } else {
            Err(LocateError::Coordinate { lat, lon })
        }
    }
    pub fn lat(&self) -> f64 {
        self.lat
    }
    pub fn lon(&self) -> f64 {
        self.lon
    }
    pub fn to_unit(&self) -> Vec3 {
        lonlat_to_unit(self.lon, self.lat)
    }
    /// The point of a (non-zero) vector's direction.
    pub fn from_unit(v: Vec3) -> Self {
        let (lon, lat) = unit_to_lonlat(v);
        Self { lat, lon }
    }
    /// Great-circle distance on the mean sphere, km.
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        angle(self.to_unit(), other.to_unit()) * EARTH_RADIUS_KM
    }
}

/// Unit vector of a longitude/latitude pair in degrees.
#[inline]
pub fn lonlat_to_unit(lon: f64, lat: f64) -> Vec3 {
    let (sla, cla) = lat.to_radians().sin_cos();
    let (slo, clo) = lon.to_radians().sin_cos();
    [cla * clo, cla * slo, sla]
}
/// Longitude/latitude in degrees of a non-zero vector (longitude in [-180, 180]).
#[inline]
pub fn unit_to_lonlat(v: Vec3) -> (f64, f64) {
    let h = (v[0] * v[0] + v[1] * v[1]).sqrt();
    let lat = v[2].atan2(h).to_degrees();
    let lon = if h == 0.0 {
        0.0
    } else {
        v[1].atan2(v[0]).to_degrees()
    };
    (lon, lat.clamp(-90.0, 90.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_and_nan() {
        assert!(GeoPoint::new(90.1, 0.0).is_err());
        assert!(GeoPoint::new(0.0, -180.5).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
        assert!(GeoPoint::new(-90.0, 180.0).is_ok());
    }

    #[test]
    fn distance_london_paris() {
        let london = GeoPoint::new(51.5074, -0.1278).unwrap();
        let paris = GeoPoint::new(48.8566, 2.3522).unwrap();
        let d = london.distance_km(&paris);
        assert!((d - 343.5).abs() < 1.5, "{d}");
    }

    #[test]
    fn round_trip_lonlat() {
        let p = GeoPoint::new(-33.9, 151.2).unwrap();
        let q = GeoPoint::from_unit(p.to_unit());
        assert!((p.lat() - q.lat()).abs() < 1e-12 && (p.lon() - q.lon()).abs() < 1e-12);
    }
}
