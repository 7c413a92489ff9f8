FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY contract ./contract
RUN pip install --no-cache-dir --no-deps ./contract
COPY . .
# static files collected at build time, served by WhiteNoise (hashed names, compressed)
ENV GUILDSTATS_COLLECTED_STATIC=true
RUN SECRET_KEY=build-only GUILDSTATS_VAR_DIR=/tmp/build-var python manage.py collectstatic --noinput
EXPOSE 8000
# One image, three roles: override the command for the worker (`celery -A config worker`) and
# Beat (`celery -A config beat`).
CMD ["sh", "-c", "python manage.py migrate --noinput && uvicorn config.asgi:application --host 0.0.0.0 --port 8000 --ws-max-size 16777216"]
