/** The shape of an InfoClimat open-data response (FORMATS.md §1) that both our reader and our generator follow. */

/** The measured fields of an InfoClimat response, in the API's order (the `_params` list). */
export const INFOCLIMAT_PARAMS = [
  'temperature',
  'pression',
  'humidite',
  'point_de_rosee',
  'visibilite',
  'vent_moyen',
  'vent_rafales',
  'vent_direction',
  'pluie_3h',
  'pluie_1h',
  'neige_au_sol',
  'nebulosite',
  'temps_omm',
] as const;

/** Unit strings of the response's `metadata` object. */
export const INFOCLIMAT_METADATA: Record<string, string> = {
  temperature: 'temperature,degC',
  pression: 'mean sea level pressure,hPa',
  humidite: 'relative humidity,%',
  point_de_rosee: 'dewpoint,degC',
  visibilite: 'horizontal visibility,m',
  vent_moyen: 'mean wind speed,km/h',
  vent_rafales: 'wind gust,km/h',
  vent_direction: 'wind direction,deg',
  pluie_3h: 'precipitation over 3h,mm',
  pluie_1h: 'precipitation over 1h,mm',
  neige_au_sol: 'snow depth,cm',
  nebulosite: 'Ncloud cover,octats',
  temps_omm: 'present weather,http://www.infoclimat.fr/stations-meteo/ww.php',
};
