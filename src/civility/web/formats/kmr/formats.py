# Kurmanji (Northern Kurdish). Django has no Kurmanji catalogue, so month and day names
# would come out in English: dates are numeric, day.month.year as in Turkey and Syria.
DATE_FORMAT = "j.n.Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j.n.Y H:i"
YEAR_MONTH_FORMAT = "n.Y"
MONTH_DAY_FORMAT = "j.n"
SHORT_DATE_FORMAT = "d.m.Y"
SHORT_DATETIME_FORMAT = "d.m.Y H:i"
FIRST_DAY_OF_WEEK = 1  # Monday
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
