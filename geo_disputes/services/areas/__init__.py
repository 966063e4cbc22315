"""Places: where a point is (locate), bulk linking of cases to places, area imports, datums, layers."""
